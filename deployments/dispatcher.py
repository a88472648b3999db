"""The dispatcher deployment: the Serve face of the job loop (``deployments.job_loop``).

It builds the parts from settings — the fallback chain a chunk goes through, the report writer,
the loop and the job kinds it runs besides processing (retention, requested reports) — and
starts the loop on the replica's event loop. The local model and the report
are other deployments, reached through their handles.
"""

from __future__ import annotations

from typing import Any

from deployments.fallback_chain import FallbackChain
from deployments.job_loop import JobLoop
from deployments.providers import remote_transcribers
from deployments.report_jobs import install as install_report_jobs
from deployments.retention import install as install_retention
from fluently import tracing
from fluently.logging import configure_logging
from fluently.settings import Settings
from pipelines.types import (
    AudioArray,
    ChunkTranscript,
    FluencyReport,
    Transcript,
    TranscriptionOptions,
)


class DispatcherDeployment:
    """Serve face of the dispatcher; the local model and the report are other deployments."""

    # Serve awaits an async constructor, so the dispatch loop starts on the replica's loop.
    async def __init__(  # type: ignore[misc]
        self, settings: Settings, transcriber: Any, reporter: Any
    ) -> None:
        configure_logging(settings.log_level)
        tracing.configure_tracing(
            service_name="fluently-dispatcher", otlp_endpoint=settings.otel_exporter_otlp_endpoint
        )
        self._transcriber = transcriber
        self._reporter = reporter
        chain = FallbackChain(remote_transcribers(settings), self._transcribe_locally)
        self._jobs = JobLoop(settings, transcribe_chunk=chain, write_report=self._write_report)
        install_retention(self._jobs)
        install_report_jobs(self._jobs, write_report=self._write_report_from_metrics)
        self._jobs.start()

    async def _transcribe_locally(
        self, audio: AudioArray, options: TranscriptionOptions
    ) -> ChunkTranscript:
        result: ChunkTranscript = await self._transcriber.transcribe.remote(
            audio, options, traceparent=tracing.traceparent()
        )
        return result

    async def _write_report(
        self, *, transcript: Transcript, duration_s: float, report_type: str, language: str
    ) -> FluencyReport:
        report = await self._reporter.generate.remote(
            transcript=transcript.to_dict(),
            duration_s=duration_s,
            report_type=report_type,
            language=language,
            traceparent=tracing.traceparent(),
        )
        return FluencyReport.from_dict(report)

    async def _write_report_from_metrics(
        self, *, transcript: Transcript, metrics: dict[str, Any], report_type: str, language: str
    ) -> FluencyReport:
        report = await self._reporter.generate_from_metrics.remote(
            transcript=transcript.to_dict(),
            metrics=metrics,
            report_type=report_type,
            language=language,
            traceparent=tracing.traceparent(),
        )
        return FluencyReport.from_dict(report)

    def check_health(self) -> None:
        if not self._jobs.healthy():
            raise RuntimeError("the dispatch loop stopped")

    async def __del__(self) -> None:
        await self._jobs.stop()
