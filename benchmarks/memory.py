"""Peak memory of each deployment against the length of the recording, and of the ingress and
Serve's proxy while a large upload streams in.

Starts a private platform, warms it up, then processes one recording per ``--durations`` entry
(minutes, shortest first), made by looping ``tests/fixtures/speech_10min.opus`` into a temporary
file, and samples the resident set size (RSS) of every Ray process of the platform every 0.1 s:
each Serve replica by deployment (``Dispatcher``, each ``LocalTranscriber``, ``Ingress``,
``ReportGenerator``) and Serve's ``ProxyActor``, found by the process titles Ray gives actors.
Last, an upload of ``--upload-mb`` MB (a 16 kHz 16-bit WAV made the same way) measures how much
the ingress and the proxy grow while they receive it; that recording is deleted once accepted.
The same upload to the app under one plain uvicorn process (as ``ingress.py`` runs it) tells the
app's own growth from what Serve's proxy-to-replica path buffers.

Prints a table (stderr) with each deployment's idle RSS before the runs, its peak during each
run and the ratio of each peak to the first run's; the JSON summary goes to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import av
import httpx
import psutil
from _common import (
    FIXTURES,
    REPLICA_TITLE,
    add_config_args,
    emit,
    log,
    machine,
    platform_under_test,
    signup,
    upload,
    wait_processed,
    warm_up,
)
from ingress import plain_uvicorn

from fluently.launcher import session_processes
from pipelines.audio import decode
from pipelines.types import SAMPLE_RATE

SOURCE = FIXTURES / "speech_10min.opus"
MB = 1_000_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--durations",
        type=float,
        nargs="*",
        default=[10.0, 40.0, 120.0],
        help="recording lengths in minutes, run shortest first; ratios are against the first "
        "(none: only the upload cases)",
    )
    parser.add_argument(
        "--upload-mb", type=float, default=200.0, help="size of the upload case (0: skip it)"
    )
    parser.add_argument("--warmup", type=int, default=2, help="short recordings processed first")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="a new platform for each recording, so no run's peak sits on what an earlier one "
        "left allocated (without it, one platform processes them all in turn)",
    )
    parser.add_argument(
        "--timeout", type=float, default=7200.0, help="seconds to wait for each recording"
    )
    add_config_args(parser, config_help="Serve config of the private platform")
    parser.set_defaults(url=None)
    return parser.parse_args()


class Sampler:
    """RSS of every deployment process of a ``serve run`` session, sampled in a thread.

    ``window()`` yields a dict that, on exit, holds each process's RSS at the start of the
    window (``idle``) and the highest seen inside it (``peak``), keyed ``Deployment#n`` (the
    n-th replica by process id); and
    the highest RSS less shared pages (``private_peak``: Ray's object store is shared memory
    that the process mapped, and a page of it counts in RSS once touched).
    """

    def __init__(self, server: subprocess.Popen[bytes], interval_s: float = 0.1) -> None:
        self._server = server
        self._interval_s = interval_s
        self._labels: dict[int, str] = {}
        self._procs: dict[int, psutil.Process] = {}
        self._peaks: dict[int, int] = {}
        self._private_peaks: dict[int, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._discovered = 0.0

    def __enter__(self) -> Sampler:
        self._discover()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _discover(self) -> None:
        for proc in session_processes(self._server):
            if proc.pid in self._labels:
                continue
            try:
                match = REPLICA_TITLE.search(" ".join(proc.cmdline()))
            except psutil.Error:
                continue
            if match:
                with self._lock:
                    self._labels[proc.pid] = match["deployment"] or match["actor"]
                    self._procs[proc.pid] = proc
        self._discovered = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            if time.monotonic() - self._discovered > 2.0:
                self._discover()
            with self._lock:
                for pid, proc in list(self._procs.items()):
                    try:
                        memory = proc.memory_info()
                    except psutil.Error:
                        del self._procs[pid]
                        continue
                    self._peaks[pid] = max(self._peaks.get(pid, 0), memory.rss)
                    private = memory.rss - memory.shared
                    self._private_peaks[pid] = max(self._private_peaks.get(pid, 0), private)

    @contextmanager
    def window(self) -> Iterator[dict[str, dict[str, float]]]:
        self._discover()
        with self._lock:
            idle = {}
            for pid, proc in self._procs.items():
                try:
                    idle[pid] = proc.memory_info().rss
                except psutil.Error:
                    continue
            self._peaks = dict(idle)
            self._private_peaks = {}
        result: dict[str, dict[str, float]] = {}
        yield result
        with self._lock:
            replicas: dict[str, int] = {}
            for pid, peak in sorted(self._peaks.items()):
                label = self._labels[pid]
                replicas[label] = replicas.get(label, 0) + 1
                result[f"{label}#{replicas[label]}"] = {
                    "idle_mb": round(idle.get(pid, 0) / MB, 1),
                    "peak_mb": round(peak / MB, 1),
                    "private_peak_mb": round(self._private_peaks.get(pid, 0) / MB, 1),
                }


def looped_recording(minutes: float, directory: Path) -> Path:
    """``SOURCE`` repeated to ``minutes`` (less 0.1 s, so that 120 minutes stays within the
    2-hour limit), its Opus packets copied (no re-encoding) with PyAV, the product's own codec
    library: no ffmpeg needed."""
    path = directory / f"speech_{minutes:g}min.opus"
    end_s = minutes * 60 - 0.1
    with av.open(str(SOURCE)) as source, av.open(str(path), "w") as target:
        audio = source.streams.audio[0]
        copy = target.add_stream_from_template(audio)
        assert audio.time_base is not None
        offset = 0
        while offset * audio.time_base < end_s:
            source.seek(0)
            last = offset
            for packet in source.demux(audio):
                if packet.pts is None or packet.dts is None:
                    continue  # the demuxer's empty packet at the end of the stream
                if (packet.pts + offset) * audio.time_base >= end_s:
                    break
                packet.pts += offset
                packet.dts += offset
                last = packet.pts + (packet.duration or 0)
                packet.stream = copy
                target.mux(packet)
            if last == offset:
                break  # the end fell before this pass's first packet
            offset = last
    return path


def large_wav(megabytes: float, directory: Path) -> Path:
    """``SOURCE`` looped into a 16 kHz mono 16-bit WAV of about ``megabytes`` MB."""
    path = directory / f"upload_{megabytes:g}mb.wav"
    samples = (decode(SOURCE) * 32767).astype("<i2").tobytes()
    size = int(megabytes * MB) // 2 * 2
    with wave.open(str(path), "wb") as target:
        target.setnchannels(1)
        target.setsampwidth(2)
        target.setframerate(SAMPLE_RATE)
        written = 0
        while written < size:
            piece = samples[: size - written]
            target.writeframes(piece)
            written += len(piece)
    return path


async def process_runs(
    url: str, sampler: Sampler, recordings: list[tuple[float, Path]], args: argparse.Namespace
) -> list[dict[str, Any]]:
    runs = []
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        await warm_up(client, args.warmup)
        for minutes, path in recordings:
            headers = await signup(client)
            log(f"processing {minutes:g} min ({path.stat().st_size / MB:.1f} MB)")
            started = time.perf_counter()
            with sampler.window() as memory:
                recording_id = await upload(client, headers, path)
                body = await wait_processed(
                    client, headers, recording_id, timeout_s=args.timeout, poll_s=1.0
                )
            if body["status"] != "processed":
                raise RuntimeError(f"{minutes:g} min recording failed: {body['error']}")
            runs.append(
                {
                    "minutes": minutes,
                    "wall_s": round(time.perf_counter() - started, 1),
                    "memory": memory,
                }
            )
            log(f"{minutes:g} min done: {runs[-1]}")
    return runs


async def upload_run(
    url: str,
    window: Callable[[], ContextManager[dict[str, dict[str, float]]]],
    path: Path,
    size: int,
) -> dict[str, Any]:
    """Upload ``path`` and delete the recording; memory from ``window`` over the upload."""
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        headers = await signup(client)
        log(f"uploading {size / MB:.0f} MB to {url}")
        started = time.perf_counter()
        with window() as memory:
            recording_id = await upload(client, headers, path)
        upload_s = time.perf_counter() - started
        await client.delete(f"/audio_recordings/{recording_id}", headers=headers)
    return {"bytes": size, "upload_s": round(upload_s, 1), "memory": memory}


@contextmanager
def uvicorn_window(process: psutil.Process) -> Iterator[dict[str, dict[str, float]]]:
    """``Sampler.window`` for one plain process."""
    idle = process.memory_info().rss
    peak = idle
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.05):
            peak = max(peak, process.memory_info().rss)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    result: dict[str, dict[str, float]] = {}
    try:
        yield result
    finally:
        done.set()
        thread.join()
        result["uvicorn#1"] = {
            "idle_mb": round(idle / MB, 1),
            "peak_mb": round(peak / MB, 1),
        }


def plain_upload_run(
    env: dict[str, str], path: Path, size: int, results_dir: Path
) -> dict[str, Any]:
    with plain_uvicorn(env, results_dir / "memory-uvicorn.log") as url:
        (process,) = [
            child for child in psutil.Process().children() if "uvicorn" in " ".join(child.cmdline())
        ]
        return asyncio.run(upload_run(url, lambda: uvicorn_window(process), path, size))


def table(runs: list[dict[str, Any]], uploads: list[dict[str, Any]], key: str = "peak_mb") -> str:
    if not runs:
        return _upload_lines(uploads)
    names = sorted({name for run in runs for name in run["memory"]})
    head = ["process", "idle MB"] + [f"{run['minutes']:g} min {key}" for run in runs]
    head += [f"{run['minutes']:g}/{runs[0]['minutes']:g}" for run in runs[1:]]
    rows = [head]
    for name in names:
        peaks = [run["memory"].get(name, {}).get(key) for run in runs]
        idle = runs[0]["memory"].get(name, {}).get("idle_mb", "")
        row = [name, str(idle)] + [str(p) for p in peaks]
        row += [f"{p / peaks[0]:.2f}" if p and peaks[0] else "" for p in peaks[1:]]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    return "\n".join([*lines, _upload_lines(uploads)])


def _upload_lines(uploads: list[dict[str, Any]]) -> str:
    lines = []
    for uploaded in uploads:
        lines.append(f"upload of {uploaded['bytes'] / MB:.0f} MB in {uploaded['upload_s']} s:")
        for name, memory in sorted(uploaded["memory"].items()):
            if name.split("#")[0] not in ("Ingress", "ProxyActor", "uvicorn"):
                continue
            growth = memory["peak_mb"] - memory["idle_mb"]
            lines.append(f"  {name}: {memory['idle_mb']} MB idle, +{growth:.1f} MB during it")
    return "\n".join(lines)


def main() -> int:
    args = parse_args()
    started_on = machine()
    with tempfile.TemporaryDirectory(prefix="fluently-memory-") as tmp:
        directory = Path(tmp)
        recordings = [(m, looped_recording(m, directory)) for m in sorted(args.durations)]
        big = large_wav(args.upload_mb, directory) if args.upload_mb > 0 else None
        batches = [[r] for r in recordings] if args.fresh else [recordings]
        runs: list[dict[str, Any]] = []
        uploads: list[dict[str, Any]] = []
        for i, batch in enumerate(batches):
            with platform_under_test(args, "memory") as target:
                assert target.server is not None
                with Sampler(target.server) as sampler:
                    runs += asyncio.run(process_runs(target.url, sampler, batch, args))
                    if big is not None and i == len(batches) - 1:
                        size = big.stat().st_size
                        uploads.append(
                            asyncio.run(upload_run(target.url, sampler.window, big, size))
                        )
                        uploads.append(plain_upload_run(target.env, big, size, args.results_dir))
    log(table(runs, uploads))
    if runs:
        log(table(runs, [], key="private_peak_mb"))
    emit(
        {
            "benchmark": "memory",
            "machine": started_on,
            "fresh_platform_per_run": args.fresh,
            "runs": runs,
            "uploads": uploads,
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
