"""Reports as resources: request one from a recording's latest annotation (written by a
``generate_report`` job on the low-priority queue, without transcribing again), list a
recording's reports, read one.

Takes the request's tenant session and never commits: the report row and its job are stored in
the request's transaction, so neither exists without the other. A report is visible exactly
when its recording is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Queue, Report
from db.repositories import annotations as annotation_versions
from db.repositories import jobs, reports
from db.repositories.recordings import Viewer
from fluently.errors import BadRequest, Conflict, NotFound
from fluently.settings import Settings
from pipelines.report import ReportLanguage, ReportType
from serve_app.services.recordings import get_recording


async def request_report(
    session: AsyncSession,
    *,
    viewer: Viewer,
    recording_id: uuid.UUID,
    report_type: ReportType | None,
    language: ReportLanguage | None,
    settings: Settings,
) -> Report:
    """A pending report of the latest annotation version, and its job; 404 unless the
    recording is visible, 409 ``annotation_not_ready`` before it is processed. Type and
    language default to those asked for at upload."""
    recording = await get_recording(session, viewer=viewer, recording_id=recording_id)
    latest = await annotation_versions.latest(session, recording_id=recording_id)
    if latest is None:
        raise Conflict(
            "the recording is not processed yet: there is nothing to report on",
            code="annotation_not_ready",
        )
    report = await reports.create_requested(
        session,
        tenant_id=viewer.tenant_id,
        recording_id=recording_id,
        report_type=(report_type or ReportType(recording.report_type)).value,
        language=(language or ReportLanguage(recording.report_language)).value,
        annotation_version=latest.version,
        requested_by=viewer.user_id,
    )
    await jobs.enqueue(
        session,
        tenant_id=viewer.tenant_id,
        recording_id=recording_id,
        kind=reports.GENERATE_REPORT,
        queue=Queue.low,
        max_attempts=settings.jobs.max_attempts,
        payload={"report_id": str(report.id)},
    )
    return report


@dataclass(frozen=True, slots=True)
class ReportList:
    reports: list[Report]
    next_cursor: str | None


async def list_reports(
    session: AsyncSession,
    *,
    viewer: Viewer,
    recording_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> ReportList:
    """Newest first; the cursor is the last report's id. 404 unless the recording is visible,
    400 ``invalid_cursor`` when the cursor names no report of it."""
    await get_recording(session, viewer=viewer, recording_id=recording_id)
    before = None
    if cursor:
        last = _report_id(cursor)
        created_at = await reports.created_at(session, recording_id=recording_id, report_id=last)
        if created_at is None:
            raise BadRequest("cursor is not valid", code="invalid_cursor")
        before = (created_at, last)
    rows = await reports.of_recording(
        session, recording_id=recording_id, before=before, limit=limit + 1
    )
    page, more = rows[:limit], len(rows) > limit
    return ReportList(reports=page, next_cursor=str(page[-1].id) if more and page else None)


def _report_id(cursor: str) -> uuid.UUID:
    try:
        return uuid.UUID(cursor)
    except ValueError:
        raise BadRequest("cursor is not valid", code="invalid_cursor") from None


async def get_report(session: AsyncSession, *, viewer: Viewer, report_id: uuid.UUID) -> Report:
    """404 unless ``viewer`` may see the report's recording."""
    report = await reports.get(session, viewer=viewer, report_id=report_id)
    if report is None:
        raise NotFound("report not found")
    return report


def markdown_of(report: Report) -> str:
    """The report's Markdown; 409 ``report_not_ready`` while it is pending or after it failed."""
    if report.content_markdown is None:
        raise Conflict(f"the report is {report.status}, it has no content", code="report_not_ready")
    return report.content_markdown
