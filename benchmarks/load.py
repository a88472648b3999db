"""Many users at once: recordings per minute and latencies while short uploads pile up.

Each of ``--clients`` clients signs up its own tenant, then uploads ``--per-client`` short
recordings (the JFK fixture in different containers) one after another, polling each until it
is processed before sending the next. Prints recordings per minute, upload and end-to-end
latency percentiles, the error count and whether every recording was processed. The run is
bounded by count and by ``--timeout``, and only ever targets loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import sys
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from _common import (
    FIXTURES,
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
    warm_up,
)
from matplotlib.figure import Figure

RECORDINGS = [FIXTURES / name for name in ("jfk.mp3", "jfk.m4a", "jfk.ogg", "jfk.opus", "jfk.webm")]
"""The same 11 s of speech with different bytes, so none is a duplicate within a tenant."""


@dataclass(frozen=True)
class Outcome:
    upload_s: float | None
    """Until the upload was accepted; ``None`` if it was not."""
    end_to_end_s: float | None
    """From the start of the upload until it was seen processed; ``None`` if it was not."""
    error: str | None


def add_load_args(parser: argparse.ArgumentParser, *, per_client: int, timeout_s: float) -> None:
    """The load's shape: users, recordings each, how long it may take, warm-up; and the
    platform (``add_platform_args``). Shared with ``chaos.py``, which runs this load."""
    parser.add_argument("--clients", type=int, default=16, help="concurrent users")
    parser.add_argument(
        "--per-client",
        type=int,
        default=per_client,
        choices=range(1, len(RECORDINGS) + 1),
        metavar=f"1..{len(RECORDINGS)}",
        help="recordings each user uploads, one after another",
    )
    parser.add_argument(
        "--timeout", type=float, default=timeout_s, help="seconds the load may take"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=2,
        help="short recordings processed at once before timing: one per transcriber replica",
    )
    add_platform_args(parser)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_args(parser, per_client=2, timeout_s=600)
    args = parser.parse_args()
    if args.url and not is_loopback(urlsplit(args.url).hostname or ""):
        parser.error("--url must be a loopback address: this benchmark floods what it targets")
    return args


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def user(
    client: httpx.AsyncClient, headers: dict[str, str], recordings: int, deadline: float
) -> list[Outcome]:
    """One user's recordings in turn, until the deadline."""
    outcomes = []
    for path in RECORDINGS[:recordings]:
        started = time.perf_counter()
        if started >= deadline:
            outcomes.append(Outcome(None, None, "not uploaded before the deadline"))
            continue
        try:
            recording_id = await upload(client, headers, path)
        except httpx.HTTPError as e:
            outcomes.append(Outcome(None, None, f"upload: {type(e).__name__}: {e}"))
            continue
        upload_s = time.perf_counter() - started
        try:
            body = await wait_processed(
                client, headers, recording_id, timeout_s=deadline - time.perf_counter()
            )
        except httpx.HTTPError as e:
            outcomes.append(Outcome(upload_s, None, f"status: {type(e).__name__}: {e}"))
            continue
        except TimeoutError:
            outcomes.append(Outcome(upload_s, None, "not processed before the deadline"))
            continue
        if body["status"] == "processed":
            outcomes.append(Outcome(upload_s, time.perf_counter() - started, None))
        else:
            outcomes.append(Outcome(upload_s, None, f"failed: {body['error']}"))
    return outcomes


async def run(url: str, args: argparse.Namespace) -> tuple[list[Outcome], float]:
    """Every user's outcomes, and the wall time from the first upload to the last answer."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return await load(client, await prepare(client, args), args)


async def prepare(client: httpx.AsyncClient, args: argparse.Namespace) -> list[dict[str, str]]:
    """Warm the platform up and sign up one tenant per user; their Authorization headers."""
    await warm_up(client, args.warmup)
    log(f"signing up {args.clients} tenants")
    return list(await asyncio.gather(*(signup(client) for _ in range(args.clients))))


async def load(
    client: httpx.AsyncClient, tenants: list[dict[str, str]], args: argparse.Namespace
) -> tuple[list[Outcome], float]:
    """Every user uploads at once: their outcomes, and the wall time of it all."""
    log(f"{len(tenants)} users upload {args.per_client} recording(s) each")
    started = time.perf_counter()
    deadline = started + args.timeout
    per_user = await asyncio.gather(
        *(user(client, headers, args.per_client, deadline) for headers in tenants)
    )
    return [o for outcomes in per_user for o in outcomes], time.perf_counter() - started


def chart(uploads: list[float], end_to_end: list[float], per_minute: float) -> Figure:
    """Cumulative distributions of the two latencies."""
    figure = Figure(figsize=(7, 4))
    axes = figure.subplots()
    for label, values in (("upload", uploads), ("end to end", end_to_end)):
        ordered = sorted(values)
        axes.step(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], label=label)
    axes.set_xscale("log")
    axes.set_xlabel("latency (s)")
    axes.set_ylabel("fraction of recordings")
    axes.set_title(f"Short recordings under load: {per_minute:.1f} processed per minute")
    axes.grid(alpha=0.3)
    axes.legend()
    return figure


def main() -> int:
    """Exits 1 unless every recording was processed."""
    args = parse_args()
    started_on = machine()
    with platform_under_test(args, "load") as target:
        outcomes, wall_s = asyncio.run(run(target.url, args))
    uploads = [o.upload_s for o in outcomes if o.upload_s is not None]
    end_to_end = [o.end_to_end_s for o in outcomes if o.end_to_end_s is not None]
    per_minute = len(end_to_end) / wall_s * 60
    errors = Counter(o.error for o in outcomes if o.error is not None)
    all_processed = len(end_to_end) == len(outcomes)
    emit(
        {
            "benchmark": "load",
            "machine": started_on,
            "platform": args.url or "private",
            "clients": args.clients,
            "recordings": len(outcomes),
            "processed": len(end_to_end),
            "all_processed": all_processed,
            "errors": errors.total(),
            "error_kinds": dict(errors.most_common(5)),
            "wall_s": round(wall_s, 2),
            "recordings_per_min": round(per_minute, 2),
            "upload_latency_s": percentiles(uploads),
            "end_to_end_latency_s": percentiles(end_to_end),
            "chart": str(
                save_chart(chart(uploads, end_to_end, per_minute), args.results_dir, "load")
            ),
        }
    )
    return 0 if all_processed else 1


if __name__ == "__main__":
    sys.exit(main())
