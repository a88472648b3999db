"""Domain metrics through Ray's metrics export: what a cluster's Prometheus scrapes.

The platform runs under ``serve run`` on a real local Ray, whose dashboard agent exports every
worker's ``ray.util.metrics`` on a port of its own choosing (``metrics_export_port``, 0 by
default); the test finds it among the agent's listening sockets, as the service discovery file
``/tmp/ray/prom_metrics_service_discovery.json`` would name it to Prometheus.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time

import httpx
import psutil
import pytest

from tests.platform import Platform
from tests.support import SHARED_AUDIO, signup, upload, wait_processed

pytestmark = pytest.mark.slow
EXPORT_WAIT_S = 90.0
"""Workers report to the agent every few seconds (``metrics_report_interval_ms``)."""


def ray_export(platform: Platform) -> str:
    """The text of Ray's metrics export of this platform's (one) node.

    The node has several Prometheus endpoints: the agent's on a random port, which carries the
    workers' ``ray.util.metrics``, and the dashboard's and autoscaler's on fixed ports (44227 and
    44217), which carry their own. Which comes first in port order is chance, so all of them are
    read and joined; their metric names do not overlap.
    """
    ports = sorted({(ip, port) for ip, port, _ in platform.listening_sockets()})
    found = []
    for ip, port in ports:
        host = "127.0.0.1" if ip in ("0.0.0.0", "::") else ip  # noqa: S104
        host = f"[{host}]" if ":" in host else host
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.get(f"http://{host}:{port}/metrics", timeout=10)
            if response.status_code == 200 and "# TYPE ray_" in response.text:
                found.append(response.text)
    assert found, f"Ray's metrics export is on none of {ports}"
    return "\n".join(found)


def value(exposition: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s series whose labels include ``labels``."""
    total = 0.0
    for match in re.finditer(rf"^{name}\{{([^}}]*)\}} (\S+)$", exposition, re.MULTILINE):
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


class TestRayMetricsExport:
    async def test_a_processed_recording_is_counted_from_the_replicas_that_did_the_work(
        self, platform: Platform, api: httpx.AsyncClient
    ) -> None:
        before = ray_export(platform)
        processed = value(before, "ray_fluently_recordings_processed_total")
        headers = await signup(api)
        response = await upload(api, headers, SHARED_AUDIO / "jfk.flac")
        assert response.status_code == 202, response.text
        body = await wait_processed(api, headers, response.json()["recording_id"])
        assert body["status"] == "processed", body

        deadline = time.monotonic() + EXPORT_WAIT_S
        while True:
            exposition = ray_export(platform)
            done = value(exposition, "ray_fluently_recordings_processed_total") >= processed + 1
            audio = value(exposition, "ray_fluently_chunk_audio_seconds_total", backend="local")
            reported = value(exposition, "ray_fluently_reports_total") >= 1
            if (done and audio >= 10.0 and reported) or time.monotonic() > deadline:
                break
            await asyncio.sleep(3)
        lines = "\n".join(line for line in exposition.splitlines() if "fluently_" in line)
        assert done, lines
        # jfk.flac is 11 s of speech, all of it through the local model's replica.
        assert audio >= 10.0, lines
        assert "ray_fluently_jobs{" in exposition, lines
        assert "ray_fluently_job_queue_wait_seconds_bucket" in exposition, lines
        assert reported, lines


def test_the_platforms_output_keeps_every_replica_log_line(platform: Platform) -> None:
    """Ray's driver folds log lines that differ only in their numbers into "[repeated 9x
    across cluster]": each chunk's ``chunk transcribed`` line and each request's line were
    lost from ``serve run``'s output. ``serve_env`` turns the folding off for ``serve run``."""
    assert platform.process is not None
    driver = psutil.Process(platform.process.pid)
    assert driver.environ().get("RAY_DEDUP_LOGS") == "0"
