"""Reports as resources: the automatic one written while processing, and those requested later
from an annotation version, produced by a ``generate_report`` job.

A report is visible exactly when its recording is (``recordings.visible``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AudioRecording, Report, ReportStatus
from db.repositories import pages
from db.repositories.recordings import Viewer, visible
from db.session import TenantId

GENERATE_REPORT = "generate_report"
"""The job kind that writes a requested report; its payload is ``{"report_id": ...}``."""


async def create_requested(
    session: AsyncSession,
    *,
    tenant_id: TenantId,
    recording_id: uuid.UUID,
    report_type: str,
    language: str,
    annotation_version: int,
    requested_by: uuid.UUID,
) -> Report:
    report = Report(
        tenant_id=tenant_id,
        recording_id=recording_id,
        type=report_type,
        language=language,
        status=ReportStatus.pending.value,
        automatic=False,
        annotation_version=annotation_version,
        requested_by=requested_by,
    )
    session.add(report)
    await session.flush()
    await session.refresh(report)
    return report


async def get(session: AsyncSession, *, viewer: Viewer, report_id: uuid.UUID) -> Report | None:
    """The report, if ``viewer`` may see its recording."""
    result = await session.execute(
        select(Report)
        .join(AudioRecording, AudioRecording.id == Report.recording_id)
        .where(Report.id == report_id, visible(viewer))
    )
    return result.scalar_one_or_none()


async def of_recording(
    session: AsyncSession,
    *,
    recording_id: uuid.UUID,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Report]:
    """Newest first; ``before`` is the (created_at, id) of the last report of the previous page.
    Call it for a recording the viewer may see."""
    return await pages.newest_first(
        session,
        select(Report).where(Report.recording_id == recording_id),
        at=Report.created_at,
        ident=Report.id,
        before=before,
        limit=limit,
    )


async def created_at(
    session: AsyncSession, *, recording_id: uuid.UUID, report_id: uuid.UUID
) -> datetime | None:
    """When a report of this recording was requested (a page cursor's position)."""
    return await session.scalar(
        select(Report.created_at).where(Report.id == report_id, Report.recording_id == recording_id)
    )


# -- used by the report job (tenant set from the claimed job) -------------------------------------


async def load(session: AsyncSession, *, report_id: uuid.UUID) -> Report | None:
    return await session.get(Report, report_id)


async def mark_ready(
    session: AsyncSession,
    *,
    report_id: uuid.UUID,
    generator: str,
    metrics: Mapping[str, Any],
    content_markdown: str,
) -> None:
    await session.execute(
        update(Report)
        .where(Report.id == report_id)
        .values(
            status=ReportStatus.ready.value,
            generator=generator,
            metrics=dict(metrics),
            content_markdown=content_markdown,
            error=None,
        )
    )


async def mark_failed(session: AsyncSession, *, report_id: uuid.UUID, error: str) -> None:
    await session.execute(
        update(Report)
        .where(Report.id == report_id, Report.status == ReportStatus.pending.value)
        .values(status=ReportStatus.failed.value, error=error[:2000])
    )


async def requeue_failed(session: AsyncSession, *, report_id: uuid.UUID) -> None:
    """Back to pending, so the job retried for it writes it (it skips reports not pending)."""
    await session.execute(
        update(Report)
        .where(Report.id == report_id, Report.status == ReportStatus.failed.value)
        .values(status=ReportStatus.pending.value, error=None)
    )
