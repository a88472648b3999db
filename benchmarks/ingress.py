"""What Serve's HTTP path costs: status GETs through the Serve ingress against plain uvicorn.

One recording is uploaded and processed first, so there is a status to GET. Then the same
client (httpx, ``--concurrency`` requests in flight for ``--duration`` seconds after a short
warm-up) asks for it through the platform's Serve proxy and through the same FastAPI app
(``create_app`` with the same settings, database and signing key) under one uvicorn process on
another port. Prints requests per second and p50/p99 latency of each and the ratio
Serve ÷ uvicorn. With ``--url``, uvicorn reads its settings from this process's environment,
as ``fluently up`` does, so run it with the platform's ``DATABASE_URL`` and ``JWT_SECRET``.

Then, through Serve, one status GET at a time for ``--upload-idle`` seconds with nothing else
running, and again while one ``--upload-mb`` upload streams into the same ingress: p50/p95 of
each and the ratios during ÷ idle (1 means the upload costs other requests nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from _common import (
    JFK,
    REPO,
    add_platform_args,
    emit,
    log,
    machine,
    percentiles,
    platform_under_test,
    save_chart,
    signup,
    upload,
    wait_processed,
)
from fastapi import FastAPI
from matplotlib.figure import Figure

from fluently.bootstrap import prepare_database
from fluently.launcher import free_port, require_ready
from fluently.settings import Settings
from serve_app.app import create_app


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--duration", type=float, default=20, help="measured seconds per server")
    parser.add_argument(
        "--warmup", type=float, default=3, help="unmeasured seconds per server before that"
    )
    parser.add_argument(
        "--upload-mb",
        type=int,
        default=199,
        help="size of the upload kept in flight while status GETs are timed (0: skip that "
        "case); under the default 200 MiB limit, so it streams to the end",
    )
    parser.add_argument(
        "--upload-idle",
        type=float,
        default=10,
        help="seconds of status GETs timed without the upload, to compare with",
    )
    add_platform_args(parser)
    return parser.parse_args()


def uvicorn_app() -> FastAPI:
    """The factory the uvicorn process runs: settings resolved as ``build_app`` resolves them."""
    return create_app(prepare_database(Settings(), run_migrations=False))


@contextmanager
def plain_uvicorn(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """The app under one uvicorn process on a free loopback port, for the block's duration."""
    port = free_port()
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                f"{Path(__file__).stem}:{uvicorn_app.__name__}",
                "--app-dir",
                str(Path(__file__).parent),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=REPO,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        require_ready(url, process, log_path=log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def recording_status(url: str) -> tuple[str, dict[str, str]]:
    """The status path of a freshly processed recording, and headers that may read it."""
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        headers = await signup(client)
        recording_id = await upload(client, headers, JFK)
        await wait_processed(client, headers, recording_id, timeout_s=300)
    return f"/audio_recordings/{recording_id}", headers


async def hammer(
    url: str, path: str, headers: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    """GET ``path`` with ``args.concurrency`` requests in flight: warm-up, then measured."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def loop(until: float, measured: bool) -> None:
            nonlocal errors
            while time.perf_counter() < until:
                started = time.perf_counter()
                try:
                    ok = (await client.get(path, headers=headers)).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if measured and ok:
                    latencies.append(time.perf_counter() - started)
                elif measured:
                    errors += 1

        warm_until = time.perf_counter() + args.warmup
        await asyncio.gather(*(loop(warm_until, False) for _ in range(args.concurrency)))
        started = time.perf_counter()
        until = started + args.duration
        await asyncio.gather(*(loop(until, True) for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - started
    if not latencies:
        raise RuntimeError(f"no GET of {url}{path} succeeded")
    return {
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "requests": len(latencies),
        "errors": errors,
        "latency_ms": {k: round(v * 1000, 2) for k, v in percentiles(latencies, (50, 99)).items()},
    }


_BOUNDARY = "fluently-benchmark-boundary"
_BLOCK = os.urandom(1024 * 1024)
"""The upload's content, repeated: noise, so the platform refuses it (422) once it is stored in
full, and nothing is transcribed while the GETs are timed."""


_PREAMBLE = (
    f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="noise.bin"\r\n'
    "Content-Type: application/octet-stream\r\n\r\n"
).encode()
_EPILOGUE = f"\r\n--{_BOUNDARY}--\r\n".encode()


async def _noise_upload(megabytes: int) -> AsyncIterator[bytes]:
    yield _PREAMBLE
    for _ in range(megabytes):
        yield _BLOCK
    yield _EPILOGUE


async def large_upload(url: str, headers: dict[str, str], megabytes: int) -> dict[str, Any]:
    """POST ``megabytes`` MiB as a recording, streamed as fast as the platform takes it."""
    length = len(_PREAMBLE) + megabytes * len(_BLOCK) + len(_EPILOGUE)
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        started = time.perf_counter()
        response = await client.post(
            "/audio_recordings",
            headers={
                **headers,
                "Content-Type": f"multipart/form-data; boundary={_BOUNDARY}",
                "Content-Length": str(length),
            },
            content=_noise_upload(megabytes),
        )
        elapsed = time.perf_counter() - started
    return {"mb": megabytes, "status": response.status_code, "seconds": round(elapsed, 2)}


async def status_latencies(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], until: Callable[[], bool]
) -> list[float]:
    """GET ``path`` one request at a time until ``until()``; each successful GET's seconds."""
    latencies: list[float] = []
    while not until():
        started = time.perf_counter()
        if (await client.get(path, headers=headers)).status_code == 200:
            latencies.append(time.perf_counter() - started)
    return latencies


async def during_upload(
    url: str, path: str, headers: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    """Status GET latency with nothing else running, then while one large upload streams."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        idle_until = time.perf_counter() + args.upload_idle
        idle = await status_latencies(
            client, path, headers, lambda: time.perf_counter() > idle_until
        )
        uploading = asyncio.create_task(large_upload(url, headers, args.upload_mb))
        await asyncio.sleep(0.5)  # the body is streaming by then
        during = await status_latencies(client, path, headers, uploading.done)
        upload = await uploading
    if not idle or not during:
        raise RuntimeError(f"no status GET succeeded (idle {len(idle)}, during {len(during)})")
    idle_ms, during_ms = (
        {k: round(v * 1000, 2) for k, v in percentiles(values, (50, 95)).items()}
        for values in (idle, during)
    )
    return {
        "upload": upload,
        "idle": {"requests": len(idle), "latency_ms": idle_ms},
        "during": {"requests": len(during), "latency_ms": during_ms},
        "during_over_idle": {q: round(during_ms[q] / idle_ms[q], 2) for q in ("p50", "p95")},
    }


def chart(serve: dict[str, Any], uvicorn: dict[str, Any], ratio: float) -> Figure:
    figure = Figure(figsize=(8, 4))
    throughput, latency = figure.subplots(1, 2)
    names = ["Serve ingress", "plain uvicorn"]
    throughput.bar(names, [serve["requests_per_s"], uvicorn["requests_per_s"]])
    throughput.set_ylabel("requests per second")
    throughput.set_title(f"Status GETs: Serve ÷ uvicorn = {ratio:.2f}")
    for offset, quantile in ((-0.2, "p50"), (0.2, "p99")):
        latency.bar(
            [i + offset for i in range(len(names))],
            [serve["latency_ms"][quantile], uvicorn["latency_ms"][quantile]],
            width=0.4,
            label=quantile,
        )
    latency.set_xticks(range(len(names)), names)
    latency.set_ylabel("latency (ms)")
    latency.legend()
    return figure


def main() -> int:
    args = parse_args()
    started_on = machine()
    with platform_under_test(args, "ingress") as target:
        path, headers = asyncio.run(recording_status(target.url))
        log(f"Serve ingress: {args.concurrency} in flight for {args.duration} s")
        serve = asyncio.run(hammer(target.url, path, headers, args))
        with plain_uvicorn(target.env, args.results_dir / "ingress-uvicorn.log") as url:
            log(f"plain uvicorn: {args.concurrency} in flight for {args.duration} s")
            uvicorn = asyncio.run(hammer(url, path, headers, args))
        upload = None
        if args.upload_mb:
            log(f"Serve ingress: status GETs without and during a {args.upload_mb} MiB upload")
            upload = asyncio.run(during_upload(target.url, path, headers, args))
    ratio = serve["requests_per_s"] / uvicorn["requests_per_s"]
    emit(
        {
            "benchmark": "ingress",
            "machine": started_on,
            "platform": args.url or "private",
            "concurrency": args.concurrency,
            "duration_s": args.duration,
            "serve": serve,
            "uvicorn": uvicorn,
            "serve_over_uvicorn": round(ratio, 3),
            "status_during_upload": upload,
            "chart": str(save_chart(chart(serve, uvicorn, ratio), args.results_dir, "ingress")),
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
