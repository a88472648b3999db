"""What every benchmark shares: a platform to measure, the API calls a client makes, output.

Benchmarks run as plain scripts or as Ray jobs, so nothing here comes from ``tests/``. By default
each one starts a private platform (embedded Postgres in a temporary directory on a free port,
``serve run`` on a new local Ray), so it never touches a developer's ``make run``; with ``--url``
it measures one that is already running and signs up fresh tenants on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import psutil

from fluently.bootstrap import embedded_server, prepare_database
from fluently.launcher import (
    NotReady,
    free_port,
    require_ready,
    serve_env,
    session_processes,
    start_serve,
    stop_serve,
    write_serve_config,
)
from fluently.settings import Settings

if TYPE_CHECKING:
    from matplotlib.figure import Figure

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
JFK = FIXTURES / "jfk.mp3"
"""An 11 s recording: one chunk, for warm-ups and short uploads."""

PLATFORM_ENV = {
    "FLUENTLY_ENV": "production",
    # The local model is what the benchmarks measure, whatever provider keys the shell has.
    "FLUENTLY_TRANSCRIPTION_BACKENDS": '["local"]',
    # Every benchmark client comes from 127.0.0.1.
    "AUTH__SIGNUP_LIMIT_PER_IP": "100000",
    "AUTH__LOGIN_LIMIT_PER_IP": "100000",
}
RETRY_503_ATTEMPTS = 10
RETRY_503_MAX_WAIT_S = 5.0
"""A 503 (a replica restarting: ``serve_app/proxy.py``) is tried again after its ``Retry-After``,
at most this long each time and this many times, then answered as it is."""
_OUTER_RAY_ENV = ("RAY_ADDRESS", "RAY_JOB_CONFIG_JSON_ENV_VAR")
"""Set for a Ray job's driver; the private platform's ``serve run`` must not inherit them, or
it would join (and take the runtime env of) the cluster running the job."""


REPLICA_TITLE = re.compile(
    r"ray::(?:ServeReplica:[^:\s]+:(?P<deployment>[A-Za-z]+)|(?P<actor>ProxyActor))"
)
"""A Serve replica's process title (its deployment) or the HTTP proxy's."""


def process_role(proc: psutil.Process) -> str:
    """What a process of the platform's Ray session does: a Serve deployment's name
    (``LocalTranscriber``, ``Dispatcher``, ...), ``ProxyActor``, ``ServeController``, or
    ``ray`` for Ray's own processes (GCS, raylet, dashboard, idle workers)."""
    try:
        title = " ".join(proc.cmdline())
    except psutil.Error:
        return "ray"
    if match := REPLICA_TITLE.search(title):
        return str(match["deployment"] or match["actor"])
    return "ServeController" if "ray::ServeController" in title else "ray"


def cpu_seconds(server: subprocess.Popen[bytes]) -> dict[int, tuple[str, float]]:
    """Each process of ``server``'s session: its role and CPU seconds (user and system) so far."""
    clock: dict[int, tuple[str, float]] = {}
    for proc in session_processes(server):
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        clock[proc.pid] = (process_role(proc), times.user + times.system)
    return clock


def cpu_by_role(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds each role used between two ``cpu_seconds`` readings (a process started in
    between counts from zero; one that ended in between is not seen)."""
    used: dict[str, float] = {}
    for pid, (role, seconds) in after.items():
        used[role] = used.get(role, 0.0) + seconds - before.get(pid, (role, 0.0))[1]
    return {role: round(seconds, 2) for role, seconds in sorted(used.items())}


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the JSON summary."""
    print(message, file=sys.stderr, flush=True)


def add_config_args(parser: argparse.ArgumentParser, *, config_help: str) -> None:
    """``--config`` (a Serve config, the repository's by default) and ``--results-dir``."""
    parser.add_argument("--config", type=Path, default=REPO / "serve_config.yaml", help=config_help)
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=REPO / "benchmarks" / "results",
        help="where the JSON, the chart and any platform log go (give an absolute path under "
        "a Ray job: its working directory is a temporary copy)",
    )


def add_platform_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        help="measure this running platform (fresh tenants are signed up on it) "
        "instead of starting a private one",
    )
    add_config_args(
        parser, config_help="Serve config of the private platform (default: the repository's)"
    )


@dataclass(frozen=True)
class Target:
    url: str
    env: dict[str, str]
    """Environment under which another app process shares the platform's database and keys."""
    log_path: Path | None = None
    """The private platform's ``serve run`` log (it names the Ray dashboard); ``None`` with
    ``--url``."""
    server: subprocess.Popen[bytes] | None = None
    """The private platform's ``serve run``, whose session holds every Ray process; None with
    ``--url``."""


@contextmanager
def platform_under_test(args: argparse.Namespace, name: str) -> Iterator[Target]:
    """``args.url`` as is, or a private platform for the duration of the block."""
    args.results_dir.mkdir(parents=True, exist_ok=True)
    if args.url:
        yield Target(url=args.url.rstrip("/"), env=dict(os.environ))
        return
    # `ray job stop` sends SIGTERM: exit through the cleanup below instead of leaving
    # Serve and Postgres running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    with tempfile.TemporaryDirectory(prefix="fluently-bench-") as data_dir:
        settings = prepare_database(
            Settings.model_validate(
                {
                    "FLUENTLY_ENV": PLATFORM_ENV["FLUENTLY_ENV"],
                    "FLUENTLY_DATA_DIR": data_dir,
                    "FLUENTLY_PG_PORT": free_port(),
                    "JWT_SECRET": secrets.token_hex(32),
                }
            )
        )
        try:
            with _serve_run(
                settings, args.config, args.results_dir / f"{name}-serve.log"
            ) as target:
                yield target
        finally:
            embedded_server(settings).stop()


@contextmanager
def _serve_run(settings: Settings, source: Path, log_path: Path) -> Iterator[Target]:
    assert settings.database_url and settings.database_admin_url and settings.jwt_secret
    env = serve_env(
        {
            **PLATFORM_ENV,
            "FLUENTLY_DATA_DIR": str(settings.data_dir),
            "DATABASE_URL": settings.database_url.get_secret_value(),
            "DATABASE_ADMIN_URL": settings.database_admin_url.get_secret_value(),
            "JWT_SECRET": settings.jwt_secret.get_secret_value(),
        },
        without=_OUTER_RAY_ENV,
    )
    port = free_port()
    config = write_serve_config(
        source, settings.data_dir / "serve_config.yaml", host="127.0.0.1", port=port
    )
    log(f"starting the platform on port {port} (log: {log_path})")
    log_path.write_bytes(b"")
    url = f"http://127.0.0.1:{port}"
    for attempt in (1, 2):
        # Appended to, so the log of a failed first start survives the retry.
        with log_path.open("ab") as output:
            process = start_serve(config, env=env, cwd=REPO, output=output)
        try:
            require_ready(url, process, log_path=log_path)
            break
        except NotReady:
            stop_serve(process)
            # Once more: on a loaded machine Ray's own start-up can time out (`Failed to get
            # node info`), as the tests' platform fixture also allows for.
            if attempt == 2:
                raise
            log("the platform did not start; trying once more")
    try:
        yield Target(url=url, env=env, log_path=log_path, server=process)
    finally:
        stop_serve(process)


async def signup(client: httpx.AsyncClient) -> dict[str, str]:
    """A fresh tenant and its admin; returns the Authorization header."""
    response = await client.post(
        "/auth/signup",
        json={
            "tenant_name": f"bench-{uuid.uuid4().hex[:8]}",
            "email": f"bench-{uuid.uuid4().hex[:12]}@example.org",
            "password": secrets.token_urlsafe(16),
        },
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def retrying_503(attempt: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
    """``attempt()`` again while it answers 503, waiting what ``Retry-After`` says (capped).

    Only for requests that are safe to repeat: reads, and uploads (the same bytes from the same
    user give back the recording the first attempt made, if it made one).
    """
    for _ in range(RETRY_503_ATTEMPTS):
        response = await attempt()
        if response.status_code != 503:
            return response
        await asyncio.sleep(_retry_after_s(response))
    return response


def _retry_after_s(response: httpx.Response) -> float:
    try:
        wait = float(response.headers.get("Retry-After", "1"))
    except ValueError:
        wait = 1.0
    return min(max(wait, 0.1), RETRY_503_MAX_WAIT_S)


async def upload(client: httpx.AsyncClient, headers: dict[str, str], path: Path) -> str:
    """Upload a recording; returns its id."""

    async def attempt() -> httpx.Response:
        with path.open("rb") as f:
            return await client.post(
                "/audio_recordings",
                headers=headers,
                files={"file": (path.name, f, "application/octet-stream")},
            )

    response = await retrying_503(attempt)
    response.raise_for_status()
    recording_id: str = response.json()["recording_id"]
    return recording_id


async def wait_processed(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    recording_id: str,
    *,
    timeout_s: float,
    poll_s: float = 0.5,
) -> dict[str, Any]:
    """The recording once it is ``processed`` or ``failed``; raises ``TimeoutError``."""
    async with asyncio.timeout(timeout_s):
        while True:
            response = await retrying_503(
                lambda: client.get(f"/audio_recordings/{recording_id}", headers=headers)
            )
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            if body["status"] in ("processed", "failed"):
                return body
            await asyncio.sleep(poll_s)


async def warm_up(client: httpx.AsyncClient, recordings: int) -> None:
    """Process short recordings at once, one per transcriber replica, so no model load or
    cold connection pool lands in what is measured."""

    async def one() -> None:
        headers = await signup(client)
        recording_id = await upload(client, headers, JFK)
        body = await wait_processed(client, headers, recording_id, timeout_s=300)
        if body["status"] != "processed":
            raise RuntimeError(f"warm-up recording failed: {body['error']}")

    log(f"warming up with {recordings} short recording(s)")
    await asyncio.gather(*(one() for _ in range(recordings)))


def percentiles(values: Sequence[float], qs: Sequence[int] = (50, 95, 99)) -> dict[str, float]:
    """``{"p50": ..., ...}`` in the values' unit, rounded to ms; empty when there are none."""
    if not values:
        return {}
    return {f"p{q}": round(float(np.percentile(values, q)), 3) for q in qs}


def machine() -> dict[str, Any]:
    """What the numbers depend on, so a reader can tell runs on different machines apart."""
    return {
        "host": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def save_chart(figure: Figure, results_dir: Path, name: str) -> Path:
    """Write ``<results_dir>/<name>.png``. Figures are made without pyplot, so PNGs render
    with Agg and no display is needed."""
    path = results_dir / f"{name}.png"
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return path


def emit(summary: dict[str, Any]) -> None:
    print(json.dumps(summary, indent=2))
