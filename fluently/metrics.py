"""Every metric the platform exports, by name, in one place (``deploy/grafana/fluently.json``
reads them; ``tests/test_observability.py`` checks that every name it reads is defined here).

Two kinds, because they reach Prometheus two ways:

- **HTTP** (``fluently_http_*``): a ``prometheus_client`` registry per ingress replica, served at
  ``GET /metrics`` (``serve_app/metrics.py``), for a single-machine Prometheus.
- **Domain** (jobs, chunks, backends, reports): recorded wherever the work runs, on any replica
  of any deployment. In a Ray worker they are ``ray.util.metrics`` instruments, which every node's
  metrics agent exports on its ``metrics_export_port`` with the prefix ``ray_`` (so
  ``fluently_chunk_audio_seconds`` is scraped as ``ray_fluently_chunk_audio_seconds_total``),
  one series per worker: Prometheus sums them across replicas and nodes. Outside Ray (tests,
  benchmarks, a script) they land in ``REGISTRY`` instead, which ``GET /metrics`` also serves,
  so a call never needs Ray and never fails for want of it.

Labels never name a tenant, a user or a recording: they stay few and reveal nothing.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import Any, Literal

import prometheus_client

REGISTRY = prometheus_client.CollectorRegistry()
"""This process's own metrics: HTTP always, domain metrics when not in a Ray worker."""

REQUESTS = prometheus_client.Counter(
    "fluently_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = prometheus_client.Histogram(
    "fluently_http_request_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    registry=REGISTRY,
)

Kind = Literal["counter", "gauge", "histogram"]

SECONDS_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
RATIO_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)


class DomainMetric:
    """One named instrument whose backend is chosen at its first use: Ray's when this process
    is a Ray worker (``ray`` imported and initialised), ``prometheus_client`` otherwise."""

    def __init__(
        self,
        kind: Kind,
        name: str,
        description: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = SECONDS_BUCKETS,
    ) -> None:
        self.kind = kind
        self.name = name
        self.description = description
        self.labels = tuple(labels)
        self.buckets = tuple(buckets)
        self._lock = threading.Lock()
        self._ray: Any = None
        self._local: Any = None

    def inc(self, value: float = 1.0, **labels: str) -> None:
        """Add ``value`` to a counter; nothing for a value that is not positive."""
        if value > 0:
            self._record(value, labels)

    def set(self, value: float, **labels: str) -> None:
        self._record(value, labels)

    def observe(self, value: float, **labels: str) -> None:
        self._record(value, labels)

    def _record(self, value: float, labels: dict[str, str]) -> None:
        ray_metric, local = self._backend()
        if ray_metric is not None:
            if self.kind == "counter":
                ray_metric.inc(value, tags=labels)
            elif self.kind == "gauge":
                ray_metric.set(value, tags=labels)
            else:
                ray_metric.observe(value, tags=labels)
            return
        series = local.labels(**labels) if self.labels else local
        if self.kind == "counter":
            series.inc(value)
        elif self.kind == "gauge":
            series.set(value)
        else:
            series.observe(value)

    def _backend(self) -> tuple[Any, Any]:
        if self._ray is not None or self._local is not None:
            return self._ray, self._local
        with self._lock:
            if self._ray is None and self._local is None:
                if _in_ray_worker():
                    self._ray = self._make_ray()
                else:
                    self._local = self._make_local()
        return self._ray, self._local

    def _make_ray(self) -> Any:
        from ray.util import metrics as ray_metrics

        if self.kind == "counter":
            return ray_metrics.Counter(self.name, self.description, self.labels)
        if self.kind == "gauge":
            return ray_metrics.Gauge(self.name, self.description, self.labels)
        return ray_metrics.Histogram(self.name, self.description, list(self.buckets), self.labels)

    def _make_local(self) -> Any:
        if self.kind == "counter":
            return prometheus_client.Counter(
                self.name, self.description, self.labels, registry=REGISTRY
            )
        if self.kind == "gauge":
            return prometheus_client.Gauge(
                self.name, self.description, self.labels, registry=REGISTRY
            )
        return prometheus_client.Histogram(
            self.name, self.description, self.labels, registry=REGISTRY, buckets=self.buckets
        )


def _in_ray_worker() -> bool:
    """Without importing Ray: a process that never imported it is not one of its workers."""
    ray = sys.modules.get("ray")
    return ray is not None and bool(ray.is_initialized())


JOBS = DomainMetric(
    "gauge",
    "fluently_jobs",
    "Jobs in the queue table by state and queue, all tenants together; sampled by every "
    "dispatcher replica (take max, not sum, across replicas).",
    ("state", "queue"),
)
JOB_QUEUE_WAIT = DomainMetric(
    "histogram",
    "fluently_job_queue_wait_seconds",
    "Time from a job becoming runnable to a dispatcher claiming it.",
    ("queue", "kind"),
)
JOB_PROCESSING = DomainMetric(
    "histogram",
    "fluently_job_processing_seconds",
    "Time a dispatcher spent on one attempt of a job, by outcome (done, failed, lease_lost).",
    ("queue", "kind", "outcome"),
)
CHUNK_AUDIO = DomainMetric(
    "counter",
    "fluently_chunk_audio_seconds",
    "Seconds of audio transcribed, by the backend and model that transcribed them.",
    ("backend", "model"),
)
CHUNK_REALTIME_FACTOR = DomainMetric(
    "histogram",
    "fluently_chunk_realtime_factor",
    "Seconds spent transcribing a chunk per second of its audio (below 1: faster than real "
    "time), by backend and model.",
    ("backend", "model"),
    buckets=RATIO_BUCKETS,
)
FALLBACKS = DomainMetric(
    "counter",
    "fluently_transcription_fallbacks",
    "Chunks a backend failed to transcribe, so the next one was asked, by the backend that "
    "failed and why (unavailable, rejected).",
    ("backend", "reason"),
)
PROVIDER_ERRORS = DomainMetric(
    "counter",
    "fluently_provider_errors",
    "Failed calls to a paid provider (each attempt), by provider and HTTP status or failure "
    "(timeout, connection, malformed).",
    ("provider", "status"),
)
COVERAGE_REPAIRS = DomainMetric(
    "counter",
    "fluently_coverage_repairs",
    "Voiced stretches no word covered, transcribed again (pipelines/coverage.py).",
)
WORDS_RECOVERED = DomainMetric(
    "counter",
    "fluently_coverage_words_recovered",
    "Words the coverage repairs found that the first pass dropped.",
)
RECORDINGS_PROCESSED = DomainMetric(
    "counter", "fluently_recordings_processed", "Recordings transcribed and reported."
)
RECORDINGS_FAILED = DomainMetric(
    "counter",
    "fluently_recordings_failed",
    "Recordings marked failed after their job's last attempt.",
)
RECORDING_AUDIO = DomainMetric(
    "counter", "fluently_recording_audio_seconds", "Seconds of audio in processed recordings."
)
REPORTS = DomainMetric(
    "counter",
    "fluently_reports",
    "Reports written, by generator (the LLM backend, or template) and report type.",
    ("generator", "report_type"),
)

DOMAIN_METRICS: tuple[DomainMetric, ...] = (
    JOBS,
    JOB_QUEUE_WAIT,
    JOB_PROCESSING,
    CHUNK_AUDIO,
    CHUNK_REALTIME_FACTOR,
    FALLBACKS,
    PROVIDER_ERRORS,
    COVERAGE_REPAIRS,
    WORDS_RECOVERED,
    RECORDINGS_PROCESSED,
    RECORDINGS_FAILED,
    RECORDING_AUDIO,
    REPORTS,
)


def metric_names() -> frozenset[str]:
    """Every name defined here, as registered (``fluently_http_requests_total`` is the
    exposed name of ``fluently_http_requests``)."""
    http = {REQUESTS._name, LATENCY._name}
    return frozenset({*http, *(m.name for m in DOMAIN_METRICS)})
