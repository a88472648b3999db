"""OpenTelemetry tracing: one trace per upload, across the ingress, the job row, the dispatcher
and the deployments it calls.

Spans: the HTTP request (FastAPI's own server span, which continues a client's ``traceparent``)
→ ``job`` (the dispatcher, its parent read from the job row) → ``chunk`` → ``transcribe`` (a
backend, or the local model's replica) → ``report`` (the report replica) → ``store``.
Nothing implicit crosses a process: the W3C ``traceparent`` travels as data, in ``jobs.payload``
(``db/repositories/jobs.enqueue``) and as an argument of every deployment-handle call.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set: then no tracer provider is installed, the API's
tracer hands out non-recording spans, FastAPI's telemetry stays disabled and no ``traceparent``
is written anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACER = "fluently"
TRACEPARENT = "traceparent"
_W3C = TraceContextTextMapPropagator()
_provider: Any = None
_exporting_to: str | None = None


def configure_tracing(*, service_name: str, otlp_endpoint: str | None) -> None:
    """Export this process's spans over OTLP/HTTP to ``otlp_endpoint`` (the collector's base
    URL, as in ``OTEL_EXPORTER_OTLP_ENDPOINT``); nothing at all when it is not set."""
    global _exporting_to
    if not otlp_endpoint or _exporting_to is not None:
        return
    _exporting_to = otlp_endpoint
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporter = OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces")
    add_span_processor(BatchSpanProcessor(exporter), service_name=service_name)


def add_span_processor(processor: Any, *, service_name: str) -> None:
    """Install the SDK's tracer provider (once per process) and hand its spans to ``processor``;
    tests give an in-memory exporter's."""
    global _provider
    if _provider is None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider

        _provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        trace.set_tracer_provider(_provider)
    _provider.add_span_processor(processor)


def traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span; None when there is no recorded trace."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier.get(TRACEPARENT)


def parent_context(headers: Mapping[str, str] | str | None) -> Context | None:
    """The context a ``traceparent`` (or headers carrying one) continues; None for none."""
    if headers is None:
        return None
    carrier = {TRACEPARENT: headers} if isinstance(headers, str) else headers
    if TRACEPARENT not in carrier:
        return None
    return _W3C.extract(carrier)


@contextmanager
def span(
    name: str,
    *,
    parent: str | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, str | int | float | bool] | None = None,
) -> Iterator[Span]:
    """A span named ``name``, current while the block runs; a child of ``parent`` (a
    ``traceparent`` from another process) when given, else of the current span."""
    with trace.get_tracer(TRACER).start_as_current_span(
        name, context=parent_context(parent), kind=kind, attributes=attributes
    ) as current:
        yield current
