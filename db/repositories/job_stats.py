"""What the dispatcher's metrics and traces read about jobs (``fluently/metrics.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Job
from fluently.tracing import TRACEPARENT


async def counts(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Jobs by ``(status, queue)`` across every tenant (``fluently_job_counts``, counts only)."""
    rows = await session.execute(text("SELECT status, queue, jobs FROM fluently_job_counts()"))
    return {(row.status, row.queue): int(row.jobs) for row in rows}


@dataclass(frozen=True, slots=True)
class ClaimedJobContext:
    queue: str
    waited_s: float
    """From the job becoming runnable (``run_at``) to its claim."""
    traceparent: str | None
    """The trace of whoever enqueued it (``jobs.enqueue``)."""


async def claimed_context(session: AsyncSession, *, job_id: int) -> ClaimedJobContext | None:
    """A just-claimed job's queue, wait and trace, in its tenant's transaction; None if gone."""
    row = (
        await session.execute(
            select(
                Job.queue,
                func.extract("epoch", Job.updated_at - Job.run_at).label("waited_s"),
                Job.payload[TRACEPARENT].astext.label("traceparent"),
            ).where(Job.id == job_id)
        )
    ).one_or_none()
    if row is None:
        return None
    return ClaimedJobContext(
        queue=row.queue, waited_s=max(0.0, float(row.waited_s)), traceparent=row.traceparent
    )
