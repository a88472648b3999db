"""The report generator as a Serve deployment: metrics, an LLM narrative, template fallback;
or, for a reviewed annotation, the narrative from the metrics it already has."""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import SpanKind

from deployments.providers import chat_clients
from deployments.report_generator import ReportGenerator
from fluently import tracing
from fluently.logging import configure_logging
from fluently.metrics import REPORTS
from fluently.settings import Settings
from pipelines.metrics import FluencyMetrics
from pipelines.report import ReportLanguage, ReportType
from pipelines.types import Transcript


class ReportGeneratorDeployment:
    def __init__(self, settings: Settings) -> None:
        configure_logging(settings.log_level)
        tracing.configure_tracing(
            service_name="fluently-report-generator",
            otlp_endpoint=settings.otel_exporter_otlp_endpoint,
        )
        self._generator = ReportGenerator(chat_clients(settings))

    def generate(
        self,
        *,
        transcript: dict[str, Any],
        duration_s: float,
        report_type: str,
        language: str,
        traceparent: str | None = None,
    ) -> dict[str, Any]:
        """The report as stored; ``report_type`` and ``language`` come from a stored recording,
        which the upload checked. ``traceparent``: the caller's span, which this continues."""
        with tracing.span("write report", parent=traceparent, kind=SpanKind.SERVER):
            report = self._generator.generate(
                transcript=Transcript.from_dict(transcript),
                duration_s=duration_s,
                report_type=ReportType(report_type),
                language=ReportLanguage(language),
            )
        REPORTS.inc(generator=report.generator, report_type=report_type)
        return report.to_dict()

    def generate_from_metrics(
        self,
        *,
        transcript: dict[str, Any],
        metrics: dict[str, Any],
        report_type: str,
        language: str,
        traceparent: str | None = None,
    ) -> dict[str, Any]:
        """The report as stored, from metrics as stored (an annotation's), without measuring
        again; ``report_type`` and ``language`` come from a stored report request."""
        with tracing.span("write report", parent=traceparent, kind=SpanKind.SERVER):
            report = self._generator.from_metrics(
                transcript=Transcript.from_dict(transcript),
                metrics=FluencyMetrics.from_dict(metrics),
                report_type=ReportType(report_type),
                language=ReportLanguage(language),
            )
        REPORTS.inc(generator=report.generator, report_type=report_type)
        return report.to_dict()
