"""The clinic's jobs for its admins: what is queued, running, done or dead, and a retry for
the dead.

Takes the request's tenant session and never commits. Row-level security shows only the
clinic's jobs; the queries name the tenant as well.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Job, JobStatus, Queue
from db.repositories import jobs, recordings, reports
from db.repositories.recordings import Viewer
from fluently.errors import Conflict, NotFound
from fluently.logging import get_logger
from serve_app.services import cursors
from serve_app.services.audit import Action, Auditor

log = get_logger("jobs")


@dataclass(frozen=True, slots=True)
class JobList:
    """One page of jobs, newest first, and where the next starts (None on the last)."""

    jobs: list[Job]
    next_cursor: str | None


async def list_jobs(
    session: AsyncSession,
    *,
    admin: Viewer,
    status: JobStatus | None,
    queue: Queue | None,
    limit: int,
    cursor: str | None,
) -> JobList:
    """400 ``invalid_cursor`` when ``cursor`` is not one this service made."""
    before = cursors.decode_numbered(cursor) if cursor else None
    rows = await jobs.list_page(
        session,
        tenant_id=admin.tenant_id,
        status=status,
        queue=queue,
        before=before,
        limit=limit + 1,
    )
    page, more = rows[:limit], len(rows) > limit
    last = page[-1] if more and page else None
    return JobList(
        jobs=page, next_cursor=cursors.encode(last.created_at, last.id) if last else None
    )


async def revive_its_work(session: AsyncSession, job: Job) -> None:
    """What a dead ``job``'s death marked failed goes back to pending with it, now that it is
    queued again (the recording it processes, the report it writes): clients see the work is
    waiting again, and the job does not skip it."""
    if job.kind == jobs.PROCESS_RECORDING and job.recording_id is not None:
        await recordings.requeue_failed(session, recording_id=job.recording_id)
    elif job.kind == reports.GENERATE_REPORT and "report_id" in job.payload:
        await reports.requeue_failed(session, report_id=uuid.UUID(str(job.payload["report_id"])))


async def retry_job(session: AsyncSession, *, admin: Viewer, auditor: Auditor, job_id: int) -> Job:
    """Queue a dead job again with its attempts reset; 404 unless it is the clinic's, 409
    ``job_not_dead`` while it is queued, running or done.

    What its death marked failed goes back to pending with it (``revive_its_work``).
    """
    job = await jobs.requeue_dead(session, tenant_id=admin.tenant_id, job_id=job_id)
    if job is None:
        found = await jobs.get(session, tenant_id=admin.tenant_id, job_id=job_id)
        if found is None:
            raise NotFound("job not found")
        raise Conflict(
            f"only dead jobs can be retried; this one is {found.status}", code="job_not_dead"
        )
    await revive_its_work(session, job)
    await auditor.record_by(
        session,
        admin,
        action=Action.job_retried,
        target_type="job",
        target_id=str(job.id),
        details={"kind": job.kind, "queue": job.queue},
    )
    log.info("dead job queued again", extra={"job_id": job.id, "kind": job.kind})
    return job
