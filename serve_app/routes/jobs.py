"""The clinic's jobs (admins only): list them, and queue a dead one again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from db.models import JobStatus, Queue
from serve_app.deps import AdminViewer, AuditDep, TenantSession
from serve_app.schemas import JobOut, JobPage
from serve_app.services import jobs as service

router = APIRouter(prefix="/admin/jobs", tags=["jobs"])

JobId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The job's id.")]


@router.get("")
async def list_jobs(
    admin: AdminViewer,
    session: TenantSession,
    status: JobStatus | None = None,
    queue: Queue | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> JobPage:
    """Your clinic's jobs, newest first (admins only); ``status`` and ``queue`` keep one kind.
    Pass ``next_cursor`` back as ``cursor`` for the next page."""
    page = await service.list_jobs(
        session, admin=admin, status=status, queue=queue, limit=limit, cursor=cursor
    )
    return JobPage(
        items=[JobOut.model_validate(job) for job in page.jobs], next_cursor=page.next_cursor
    )


@router.post(
    "/{job_id}/retry",
    responses={
        404: {"description": "No such job in your clinic"},
        409: {"description": "job_not_dead: the job is queued, running or done"},
    },
)
async def retry_job(
    job_id: JobId,
    admin: AdminViewer,
    session: TenantSession,
    auditor: AuditDep,
) -> JobOut:
    """Queue a dead job again with its attempts reset (admins only); 409 ``job_not_dead`` for a
    job that is queued, running or done. Its recording or report shows pending again."""
    job = await service.retry_job(session, admin=admin, auditor=auditor, job_id=job_id)
    return JobOut.model_validate(job)
