"""The ``generate_report`` job: a requested report, written from an annotation version.

Nothing is transcribed or measured again: the words are the annotation's (a clinician's
corrections included) and the metrics are the ones stored with it, so the report states what
the review confirmed. The report is marked ready in the transaction that completes the job, and
only while this worker holds the lease; on the last failed attempt it is marked failed.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, Protocol

from db.models import ReportStatus
from db.repositories import annotations as annotation_versions
from db.repositories import jobs, recordings, reports
from db.repositories.jobs import ClaimedJob
from db.session import Sessions, tenant_session
from deployments.job_loop import JobLoop, LeaseLost
from fluently.logging import get_logger
from pipelines.types import FluencyReport, Segment, Transcript

log = get_logger("report_jobs")


class ReportFromMetrics(Protocol):
    async def __call__(
        self,
        *,
        transcript: Transcript,
        metrics: dict[str, Any],
        report_type: str,
        language: str,
    ) -> FluencyReport: ...


def install(loop: JobLoop, *, write_report: ReportFromMetrics) -> None:
    """Run ``generate_report`` jobs on ``loop``, writing reports with ``write_report``."""
    loop.register(
        reports.GENERATE_REPORT,
        ReportJob(loop.sessions, worker=loop.worker, write_report=write_report),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _Source:
    report_type: str
    language: str
    transcript: Transcript
    metrics: dict[str, Any]


class ReportJob:
    """The handler ``JobLoop.register`` runs for each claimed ``generate_report`` job."""

    def __init__(self, sessions: Sessions, *, worker: str, write_report: ReportFromMetrics) -> None:
        self._sessions = sessions
        self._worker = worker
        self._write_report = write_report

    async def __call__(self, job: ClaimedJob) -> None:
        async with tenant_session(self._sessions, job.tenant_id) as session:
            report_id = uuid.UUID(str((await jobs.payload_of(session, job_id=job.id))["report_id"]))
        try:
            await self._generate(job, report_id)
        except LeaseLost:
            raise
        except Exception as exc:
            if job.attempts >= job.max_attempts:
                async with tenant_session(self._sessions, job.tenant_id) as session:
                    await reports.mark_failed(
                        session, report_id=report_id, error=f"{type(exc).__name__}: {exc}"
                    )
            raise

    async def _generate(self, job: ClaimedJob, report_id: uuid.UUID) -> None:
        source = await self._source(job, report_id)
        if source is None:
            return
        written = await self._write_report(
            transcript=source.transcript,
            metrics=source.metrics,
            report_type=source.report_type,
            language=source.language,
        )
        async with tenant_session(self._sessions, job.tenant_id) as session:
            if not await jobs.complete(session, job_id=job.id, worker=self._worker):
                raise LeaseLost(f"job {job.id} was reclaimed by another worker")
            await reports.mark_ready(
                session,
                report_id=report_id,
                generator=written.generator,
                metrics=written.metrics,
                content_markdown=written.content_markdown,
            )
        log.info("report written", extra={"report_id": str(report_id), "job_id": job.id})

    async def _source(self, job: ClaimedJob, report_id: uuid.UUID) -> _Source | None:
        """What the report is written from; None (and the job done) when there is nothing to
        write: the report was deleted with its recording, or is written already."""
        async with tenant_session(self._sessions, job.tenant_id) as session:
            report = await reports.load(session, report_id=report_id)
            if report is None or report.status != ReportStatus.pending.value:
                await jobs.complete(session, job_id=job.id, worker=self._worker)
                return None
            version = report.annotation_version or annotation_versions.AUTOMATIC_VERSION
            annotation = await annotation_versions.get_version(
                session, recording_id=report.recording_id, version=version
            )
            stored = await recordings.transcript_of(session, recording_id=report.recording_id)
            if annotation is None or stored is None:
                raise LookupError(f"annotation version {version} or its transcript is missing")
            transcript = Transcript.from_dict(stored).with_segments(
                [Segment.from_dict(s) for s in annotation.segments]
            )
            return _Source(
                report_type=report.type,
                language=report.language,
                transcript=transcript,
                metrics=annotation.metrics,
            )
