"""The durable job queue: rows in ``jobs``, claimed with SKIP LOCKED and kept alive by a lease."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from db.models import Job, JobStatus, Queue
from db.repositories.pages import newest_first
from db.session import TenantId
from fluently import tracing

PROCESS_RECORDING = "process_recording"
CHANNEL = "fluently_jobs"
"""NOTIFYed with the job's queue whenever a job becomes queued (trigger ``jobs_notify``)."""


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    tenant_id: TenantId
    recording_id: uuid.UUID | None
    kind: str
    queue: Queue
    attempts: int
    max_attempts: int


async def enqueue(
    session: AsyncSession,
    *,
    tenant_id: TenantId,
    recording_id: uuid.UUID | None,
    kind: str,
    queue: Queue = Queue.default,
    max_attempts: int,
    payload: dict[str, Any] | None = None,
) -> Job:
    """Add a job in the caller's transaction, so it exists exactly when the caller's rows do.

    The payload also carries the caller's trace (``traceparent``), which the job continues.
    """
    parent = tracing.traceparent()
    if parent is not None:
        payload = {**(payload or {}), tracing.TRACEPARENT: parent}
    job = Job(
        tenant_id=tenant_id,
        recording_id=recording_id,
        kind=kind,
        queue=queue.value,
        priority=queue.priority,
        status=JobStatus.queued.value,
        attempts=0,
        max_attempts=max_attempts,
        payload=payload or {},
    )
    session.add(job)
    await session.flush()
    return job


async def claim(
    session: AsyncSession, *, worker: str, lease_s: float, aging_step_s: float
) -> ClaimedJob | None:
    """Claim the next runnable job of any tenant (or one whose lease expired).

    Queues are served in priority order with aging: a job ranks by ``run_at + priority ×
    aging_step_s``, so a ``critical`` job overtakes older ``default`` and ``low`` ones, but
    only by that much; a ``low`` job runnable for longer than two steps comes before a
    ``critical`` one that just arrived (migration 0005).

    Runs ``fluently_claim_job``, the one SECURITY DEFINER path across tenants; it returns only
    the ids needed to continue in a tenant-scoped transaction.
    """
    row = (
        await session.execute(
            text("SELECT * FROM fluently_claim_job(:worker, :lease, :aging, :priorities)"),
            {
                "worker": worker,
                "lease": lease_s,
                "aging": aging_step_s,
                "priorities": sorted({q.priority for q in Queue}),
            },
        )
    ).one_or_none()
    if row is None:
        return None
    return ClaimedJob(
        id=row.id,
        tenant_id=TenantId(row.tenant_id),
        recording_id=row.recording_id,
        kind=row.kind,
        queue=Queue(row.queue),
        attempts=row.attempts,
        max_attempts=row.max_attempts,
    )


async def payload_of(session: AsyncSession, *, job_id: int) -> dict[str, Any]:
    """What the job was enqueued with beyond its recording (``enqueue``'s ``payload``)."""
    payload = await session.scalar(select(Job.payload).where(Job.id == job_id))
    return dict(payload or {})


async def extend_lease(session: AsyncSession, *, job_id: int, worker: str, lease_s: float) -> bool:
    """Heartbeat; False means the lease was lost (another worker reclaimed the job)."""
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker, Job.status == JobStatus.running.value)
        .values(lease_expires_at=func.now() + timedelta(seconds=lease_s))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def complete(session: AsyncSession, *, job_id: int, worker: str) -> bool:
    """Mark done in the transaction that stores the job's results; False if the lease was lost."""
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker, Job.status == JobStatus.running.value)
        .values(status=JobStatus.done.value, locked_by=None, lease_expires_at=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def backoff_s(attempt: int, *, base_s: float, max_s: float) -> float:
    """Capped exponential backoff with full jitter (AWS Architecture Blog, 2015)."""
    return random.uniform(0, min(max_s, base_s * 2 ** max(0, attempt - 1)))


async def fail(
    session: AsyncSession,
    *,
    job: ClaimedJob,
    worker: str,
    error: str,
    base_s: float,
    max_s: float,
) -> JobStatus:
    """Requeue with backoff, or mark dead when the attempts are spent."""
    dead = job.attempts >= job.max_attempts
    values: dict[str, object] = {
        "last_error": error[:4000],
        "locked_by": None,
        "lease_expires_at": None,
    }
    if dead:
        values["status"] = JobStatus.dead.value
    else:
        values["status"] = JobStatus.queued.value
        delay = backoff_s(job.attempts, base_s=base_s, max_s=max_s)
        values["run_at"] = func.now() + timedelta(seconds=delay)
    await session.execute(
        update(Job).where(Job.id == job.id, Job.locked_by == worker).values(**values)
    )
    return JobStatus.dead if dead else JobStatus.queued


async def mark_dead(session: AsyncSession, *, job_id: int, error: str) -> None:
    await session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(status=JobStatus.dead.value, last_error=error[:4000], locked_by=None)
    )


async def list_page(
    session: AsyncSession,
    *,
    tenant_id: TenantId,
    status: JobStatus | None,
    queue: Queue | None,
    before: tuple[datetime, int] | None,
    limit: int,
) -> list[Job]:
    """The clinic's jobs, newest first, optionally of one status and one queue."""
    query = select(Job).where(Job.tenant_id == tenant_id)
    if status is not None:
        query = query.where(Job.status == status.value)
    if queue is not None:
        query = query.where(Job.queue == queue.value)
    return await newest_first(
        session, query, at=Job.created_at, ident=Job.id, before=before, limit=limit
    )


async def get(session: AsyncSession, *, tenant_id: TenantId, job_id: int) -> Job | None:
    return await session.scalar(select(Job).where(Job.id == job_id, Job.tenant_id == tenant_id))


async def requeue_dead(session: AsyncSession, *, tenant_id: TenantId, job_id: int) -> Job | None:
    """Queue a dead job again, runnable now with its attempts reset; None unless it was dead.

    Conditional on ``status = 'dead'`` in one statement, so two retries at once queue it once.
    ``last_error`` stays: it says why the job died until a new attempt replaces it.
    """
    return await _requeue_dead(session, Job.id == job_id, Job.tenant_id == tenant_id)


async def requeue_dead_process(session: AsyncSession, *, recording_id: uuid.UUID) -> Job | None:
    """``requeue_dead`` for the dead processing job of a recording; None when it has none."""
    return await _requeue_dead(
        session, Job.recording_id == recording_id, Job.kind == PROCESS_RECORDING
    )


async def _requeue_dead(session: AsyncSession, *where: ColumnElement[bool]) -> Job | None:
    result = await session.execute(
        update(Job)
        .where(*where, Job.status == JobStatus.dead.value)
        .values(
            status=JobStatus.queued.value,
            attempts=0,
            run_at=func.now(),
            locked_by=None,
            lease_expires_at=None,
            updated_at=func.now(),
        )
        .returning(Job)
        .execution_options(populate_existing=True)
    )
    return result.scalars().first()
