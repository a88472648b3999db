"""Chaos under load: the load benchmark's users, while replicas are killed with SIGKILL.

``load.py``'s users (``--clients`` × ``--per-client`` recordings) upload and poll as usual; as
the recordings finish, one replica of each of ``LocalTranscriber``, ``Dispatcher`` and
``Ingress`` is killed in turn (a quarter, half and three quarters of the way through), each once
Serve has replaced the one before. Prints what was submitted, processed and lost, every HTTP
status the clients saw (the 503s they retried included), latencies, and how long Serve took to
bring each deployment back. Exits 1 if a recording was lost or a client saw a 5xx other than a
503 it retried.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from _common import emit, log, machine, percentiles, platform_under_test
from load import add_load_args, is_loopback, load, prepare

KILLED = ("LocalTranscriber", "Dispatcher", "Ingress")
"""In this order, one replica each."""
APPLICATION = "fluently"
RECOVERY_TIMEOUT_S = 300.0
_RECORDING = re.compile(r"^/audio_recordings/[0-9a-f-]{36}$")


@dataclass
class Seen:
    """What the clients saw, from every response they got (retried 503s included)."""

    started: float = field(default_factory=time.perf_counter)
    statuses: Counter[int] = field(default_factory=Counter)
    request_s: list[float] = field(default_factory=list)
    processed_at: list[float] = field(default_factory=list)
    """Seconds since ``started`` at which each recording was first seen processed."""
    processed: set[str] = field(default_factory=set)

    async def response(self, response: httpx.Response) -> None:
        await response.aread()
        self.statuses[response.status_code] += 1
        self.request_s.append(response.elapsed.total_seconds())
        path = response.request.url.path
        if response.status_code == 200 and _RECORDING.match(path) and path not in self.processed:
            if response.json().get("status") == "processed":
                self.processed.add(path)
                self.processed_at.append(time.perf_counter() - self.started)


@dataclass(frozen=True)
class Kill:
    deployment: str
    pid: int
    at_s: float
    """Seconds into the load."""
    replaced_s: float | None
    """Until Serve reported the deployment healthy again at full strength; ``None``: not within
    ``RECOVERY_TIMEOUT_S``."""
    next_processed_s: float | None
    """Until the next recording was seen processed."""


class ServeView:
    """Serve's own account of the application's replicas (state, pid), from the Ray dashboard
    (with this machine's Ray token, where the cluster has token authentication on)."""

    def __init__(self, dashboard_url: str) -> None:
        self.client = httpx.AsyncClient(
            base_url=dashboard_url, timeout=10, headers=ray_token_header()
        )

    async def deployment(self, name: str) -> dict[str, Any]:
        response = await self.client.get("/api/serve/applications/")
        response.raise_for_status()
        found: dict[str, Any] = response.json()["applications"][APPLICATION]["deployments"][name]
        return found

    async def running_pids(self, name: str) -> list[int]:
        replicas = (await self.deployment(name))["replicas"]
        return [r["pid"] for r in replicas if r["state"] == "RUNNING" and r.get("pid")]

    async def wait_replaced(self, name: str, killed_pid: int) -> float | None:
        """Seconds until the deployment is healthy with its target of running replicas, none of
        them ``killed_pid``."""
        started = time.perf_counter()
        while time.perf_counter() - started < RECOVERY_TIMEOUT_S:
            details = await self.deployment(name)
            pids = [r["pid"] for r in details["replicas"] if r["state"] == "RUNNING"]
            if (
                details["status"] == "HEALTHY"
                and killed_pid not in pids
                and len(pids) >= details["target_num_replicas"]
            ):
                return time.perf_counter() - started
            await asyncio.sleep(0.25)
        return None


def ray_token_header() -> dict[str, str]:
    """What the Ray dashboard asks for where token authentication is on (Ray's default): the
    token from ``RAY_AUTH_TOKEN``, or the file ``RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``."""
    token = os.environ.get("RAY_AUTH_TOKEN", "").strip()
    path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
    if not token and path.is_file():
        token = path.read_text().strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


def dashboard_of(log_path: Path) -> str:
    """The Ray dashboard of a platform ``serve run`` started, from its log."""
    found = re.findall(r"dashboard at \S*?(http://[0-9.]+:\d+)", log_path.read_text())
    if not found:
        raise RuntimeError(f"the Ray dashboard address is not in {log_path}")
    return str(found[-1])


async def wait_processed_count(seen: Seen, count: int, done: asyncio.Event) -> bool:
    while len(seen.processed) < count:
        if done.is_set():
            return False
        await asyncio.sleep(0.2)
    return True


async def chaos(seen: Seen, serve: ServeView, total: int, done: asyncio.Event) -> list[Kill]:
    """Kill one replica of each deployment of ``KILLED`` as the load goes on; one at a time."""
    kills = []
    for index, deployment in enumerate(KILLED):
        if not await wait_processed_count(seen, total * (index + 1) // (len(KILLED) + 1), done):
            log(f"the load ended before {deployment} was killed")
            break
        pid = (await serve.running_pids(deployment))[0]
        at_s = time.perf_counter() - seen.started
        processed_before = len(seen.processed_at)
        os.kill(pid, signal.SIGKILL)
        log(f"{at_s:6.1f} s: killed {deployment} replica (pid {pid})")
        replaced_s = await serve.wait_replaced(deployment, pid)
        log(f"{deployment} replaced after {replaced_s} s")
        await wait_processed_count(seen, processed_before + 1, done)
        later = seen.processed_at[processed_before:]
        kills.append(
            Kill(
                deployment=deployment,
                pid=pid,
                at_s=round(at_s, 2),
                replaced_s=None if replaced_s is None else round(replaced_s, 2),
                next_processed_s=round(later[0] - at_s, 2) if later else None,
            )
        )
    return kills


async def run(url: str, dashboard: str, args: argparse.Namespace) -> dict[str, Any]:
    seen = Seen()
    serve = ServeView(dashboard)
    async with httpx.AsyncClient(
        base_url=url, timeout=60, event_hooks={"response": [seen.response]}
    ) as client:
        tenants = await prepare(client, args)
        seen.statuses.clear()
        seen.request_s.clear()
        seen.processed.clear()
        seen.processed_at.clear()
        seen.started = time.perf_counter()
        done = asyncio.Event()
        chaos_task = asyncio.create_task(chaos(seen, serve, len(tenants) * args.per_client, done))
        try:
            outcomes, wall_s = await load(client, tenants, args)
        finally:
            done.set()
            kills = await chaos_task
            await serve.client.aclose()
    submitted = [o for o in outcomes if o.upload_s is not None]
    processed = [o for o in outcomes if o.end_to_end_s is not None]
    server_errors = {code: n for code, n in seen.statuses.items() if code >= 500}
    errors = Counter(o.error for o in outcomes if o.error is not None)
    return {
        "recordings": len(outcomes),
        "submitted": len(submitted),
        "processed": len(processed),
        "failed": sum(1 for o in outcomes if (o.error or "").startswith("failed:")),
        "lost": len(outcomes) - len(processed),
        "statuses": {str(code): n for code, n in sorted(seen.statuses.items())},
        "server_errors": sum(server_errors.values()),
        "server_errors_not_503": sum(n for code, n in server_errors.items() if code != 503),
        "errors": errors.total(),
        "error_kinds": dict(errors.most_common(5)),
        "wall_s": round(wall_s, 2),
        "request_latency_s": percentiles(seen.request_s),
        "upload_latency_s": percentiles([o.upload_s for o in submitted if o.upload_s]),
        "end_to_end_latency_s": percentiles([o.end_to_end_s for o in processed if o.end_to_end_s]),
        "kills": [asdict(k) for k in kills],
        "recovered_s": max((k.replaced_s or RECOVERY_TIMEOUT_S for k in kills), default=None),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_args(parser, per_client=5, timeout_s=900)
    parser.add_argument(
        "--quick", action="store_true", help="4 users × 3 recordings: a smoke run of the kills"
    )
    parser.add_argument(
        "--dashboard", help="with --url: the Ray dashboard of that platform (on this machine)"
    )
    args = parser.parse_args()
    if args.quick:
        args.clients, args.per_client = 4, 3
    if args.url and not (is_loopback(urlsplit(args.url).hostname or "") and args.dashboard):
        parser.error("--url must be a loopback address, with --dashboard: replicas are killed")
    return args


def main() -> int:
    """Exits 1 if a recording was lost or a client saw a 5xx other than a retried 503."""
    args = parse_args()
    started_on = machine()
    with platform_under_test(args, "chaos") as target:
        dashboard = args.dashboard or dashboard_of(target.log_path or Path())
        summary = asyncio.run(run(target.url, dashboard, args))
    emit(
        {
            "benchmark": "chaos",
            "machine": started_on,
            "platform": args.url or "private",
            "clients": args.clients,
            "per_client": args.per_client,
            **summary,
        }
    )
    return 0 if summary["lost"] == 0 and summary["server_errors_not_503"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
