"""Observability without Ray: the shipped dashboard and Prometheus config read metrics that
exist, and one upload is one trace from the ingress through the dispatcher to the transcriber.

The dispatcher, transcriber and report deployments run in this process, each call through a
handle-shaped adapter that runs it in a fresh context in a thread, as a Ray worker would: a
span reaches the next deployment only through the ``traceparent`` argument, and the job only
through its row. (An exporter in every Ray worker would need a collector to read back; the
metrics' way across replicas is tested through Ray in ``test_observability_platform.py``.)
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from deployments.dispatcher import DispatcherDeployment
from deployments.local_transcriber import LocalTranscriberDeployment
from deployments.report_deployment import ReportGeneratorDeployment
from fluently import metrics, tracing
from fluently.bootstrap import embedded_server, prepare_database
from fluently.launcher import free_port
from fluently.settings import Environment, Settings
from serve_app.app import create_app
from tests.support import SHARED_AUDIO, signup, upload, wait_processed

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
_EXPOSED_SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def defined_name(exposed: str) -> str:
    """The name a metric is defined under, from the name a query reads: Ray's export adds
    ``ray_``, Prometheus adds ``_total`` to counters and ``_bucket``/``_sum``/``_count`` to
    histograms."""
    name = exposed.removeprefix("ray_")
    for suffix in _EXPOSED_SUFFIXES:
        if name.endswith(suffix) and name.removesuffix(suffix) in metrics.metric_names():
            return name.removesuffix(suffix)
    return name


class TestShippedMonitoring:
    def test_every_fluently_metric_the_dashboard_reads_is_defined(self) -> None:
        dashboard = json.loads((DEPLOY / "grafana" / "fluently.json").read_text())
        exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
        read = {m for e in exprs for m in re.findall(r"\b(?:ray_)?fluently_[a-z_]+", e)}
        assert len(read) >= 10, read
        undefined = {name for name in read if defined_name(name) not in metrics.metric_names()}
        assert not undefined, f"the dashboard reads metrics nobody defines: {undefined}"

    def test_every_domain_metric_is_on_the_dashboard(self) -> None:
        text = (DEPLOY / "grafana" / "fluently.json").read_text()
        missing = [m.name for m in metrics.DOMAIN_METRICS if f"ray_{m.name}" not in text]
        assert not missing, missing

    def test_prometheus_scrapes_the_ingress_and_rays_service_discovery(self) -> None:
        config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
        jobs = {job["job_name"]: job for job in config["scrape_configs"]}
        assert jobs["fluently-ingress"]["metrics_path"] == "/metrics"
        files = jobs["ray"]["file_sd_configs"][0]["files"]
        assert files == ["/tmp/ray/prom_metrics_service_discovery.json"]


class HandleMethod:
    def __init__(self, method: Any) -> None:
        self._method = method

    async def remote(self, *args: Any, **kwargs: Any) -> Any:
        # A fresh context, as in another process: no span leaks across but the argument.
        fresh = contextvars.Context()
        return await asyncio.to_thread(fresh.run, self._method, *args, **kwargs)


class Handle:
    """A deployment with a Serve handle's shape (``h.method.remote()``), without Ray."""

    def __init__(self, deployment: Any) -> None:
        self._deployment = deployment

    def __getattr__(self, name: str) -> HandleMethod:
        return HandleMethod(getattr(self._deployment, name))


class InProcessDispatcher(DispatcherDeployment):
    """Stopped by the fixture awaiting ``__del__`` as Serve does; not again by the collector."""

    def __del__(self) -> None:
        pass


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    tracing.add_span_processor(SimpleSpanProcessor(exporter), service_name="fluently-tests")
    return exporter


@pytest.fixture(scope="module")
def own_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A database of its own: a Serve platform another test started would claim the jobs."""
    base = Settings.model_validate(
        {
            "FLUENTLY_ENV": Environment.test,
            "FLUENTLY_DATA_DIR": tmp_path_factory.mktemp("observability"),
            "FLUENTLY_PG_PORT": free_port(),
            "JWT_SECRET": "observability-secret-" + "z" * 40,
            "jobs": {"poll_interval_s": 1, "metrics_interval_s": 0},
        }
    )
    settings = prepare_database(base)
    yield settings
    embedded_server(settings).stop()


@pytest.fixture(scope="module")
async def platform_in_process(
    own_settings: Settings, spans: InMemorySpanExporter
) -> AsyncIterator[httpx.AsyncClient]:
    transcriber = Handle(LocalTranscriberDeployment())
    reporter = Handle(ReportGeneratorDeployment(own_settings))
    dispatcher = InProcessDispatcher.__new__(InProcessDispatcher)
    await dispatcher.__init__(own_settings, transcriber, reporter)  # type: ignore[misc]
    app = create_app(own_settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield client
    finally:
        await DispatcherDeployment.__del__(dispatcher)


def _sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


class TestOneUploadOneTrace:
    async def test_upload_job_chunks_transcriber_report_and_store_share_one_trace(
        self, platform_in_process: httpx.AsyncClient, spans: InMemorySpanExporter
    ) -> None:
        client = platform_in_process
        processed_before = _sample("fluently_recordings_processed_total")
        headers = await signup(client)
        response = await upload(client, headers, SHARED_AUDIO / "jfk.flac")
        assert response.status_code == 202, response.text
        body = await wait_processed(client, headers, response.json()["recording_id"])
        assert body["status"] == "processed", body

        finished = spans.get_finished_spans()
        uploads = [s for s in finished if s.name == "POST /audio_recordings"]
        assert len(uploads) == 1
        trace_id = uploads[0].context.trace_id
        in_trace = [s for s in finished if s.context.trace_id == trace_id]
        names = [s.name for s in in_trace]
        for expected in ("job process_recording", "chunk", "transcribe", "report", "store"):
            assert expected in names, names
        assert "write report" in names, names  # the report deployment's own span

        by_id = {s.context.span_id: s for s in in_trace}

        def ancestors(span: ReadableSpan) -> list[str]:
            chain = []
            while span.parent is not None and span.parent.span_id in by_id:
                span = by_id[span.parent.span_id]
                chain.append(span.name)
            return chain

        transcribe = next(s for s in in_trace if s.name == "transcribe")
        chain = ancestors(transcribe)
        assert chain[:2] == ["chunk", "job process_recording"], chain
        assert chain[-1] == "POST /audio_recordings", chain
        assert (
            transcribe.attributes is not None
            and transcribe.attributes["fluently.backend"] == "local"
        )

        # Outside Ray the domain metrics land in this process's registry, served at /metrics.
        assert _sample("fluently_recordings_processed_total") == processed_before + 1
        exposition = (await client.get("/metrics")).text
        assert 'fluently_chunk_audio_seconds_total{backend="local"' in exposition
        assert 'fluently_jobs{queue="default",state="queued"}' in exposition
        assert "fluently_job_queue_wait_seconds_bucket" in exposition
        assert 'fluently_reports_total{generator="template"' in exposition

    async def test_a_clients_traceparent_is_continued(
        self, platform_in_process: httpx.AsyncClient, spans: InMemorySpanExporter
    ) -> None:
        trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
        parent = f"00-{trace_id}-00f067aa0ba902b7-01"
        response = await platform_in_process.get("/healthz", headers={"traceparent": parent})
        assert response.status_code == 200
        served = [s for s in spans.get_finished_spans() if s.name == "GET /healthz"]
        assert served and f"{served[-1].context.trace_id:032x}" == trace_id
