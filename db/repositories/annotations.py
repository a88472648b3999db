"""A recording's annotation versions: version 1 is automatic (written with the transcript),
every clinician review adds the next. Versions are never changed or removed, except version 1,
which processing rewrites when it runs again.

Functions take a tenant-scoped session; callers check that the viewer may see the recording.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Annotation, AudioRecording
from db.session import TenantId

AUTOMATIC_VERSION = 1


def automatic_events(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The automatic version's events from a report's metrics: the counted ones, then those
    listed "to review" (as migration 0004 backfills them)."""
    return [
        *({**event, "to_review": False} for event in metrics.get("disfluencies", ())),
        *({**event, "to_review": True} for event in metrics.get("to_review", ())),
    ]


async def store_automatic(
    session: AsyncSession,
    *,
    tenant_id: TenantId,
    recording_id: uuid.UUID,
    segments: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, Any],
) -> None:
    """Write version 1 from the transcript's segments and the report's metrics, replacing the
    one a previous processing run wrote."""
    values = {
        "tenant_id": tenant_id,
        "recording_id": recording_id,
        "version": AUTOMATIC_VERSION,
        "segments": list(segments),
        "events": automatic_events(metrics),
        "metrics": dict(metrics),
    }
    stmt = insert(Annotation).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Annotation.recording_id, Annotation.version],
            set_={
                "segments": stmt.excluded.segments,
                "events": stmt.excluded.events,
                "metrics": stmt.excluded.metrics,
                "created_at": func.now(),
            },
        )
    )


async def latest(session: AsyncSession, *, recording_id: uuid.UUID) -> Annotation | None:
    result = await session.execute(
        select(Annotation)
        .where(Annotation.recording_id == recording_id)
        .order_by(Annotation.version.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def latest_review(
    session: AsyncSession, *, recording_id: uuid.UUID
) -> tuple[int, list[dict[str, Any]]] | None:
    """(version, segments) of the newest version a clinician saved; None while the pipeline's
    own (``AUTOMATIC_VERSION``) is the latest, without reading its words."""
    result = await session.execute(
        select(Annotation.version, Annotation.segments)
        .where(Annotation.recording_id == recording_id, Annotation.version > AUTOMATIC_VERSION)
        .order_by(Annotation.version.desc())
        .limit(1)
    )
    row = result.one_or_none()
    return None if row is None else (row.version, row.segments)


async def get_version(
    session: AsyncSession, *, recording_id: uuid.UUID, version: int
) -> Annotation | None:
    result = await session.execute(
        select(Annotation).where(
            Annotation.recording_id == recording_id, Annotation.version == version
        )
    )
    return result.scalar_one_or_none()


async def latest_metrics(
    session: AsyncSession, *, recording_id: uuid.UUID
) -> dict[str, Any] | None:
    """The metrics of the newest version, or None before processing stored one."""
    result = await session.execute(
        select(Annotation.metrics)
        .where(Annotation.recording_id == recording_id)
        .order_by(Annotation.version.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def lock_recording(session: AsyncSession, *, recording_id: uuid.UUID) -> None:
    """Hold the recording's row until the transaction ends, so reviews of one recording take
    turns: the second reads the version the first wrote (and finds its If-Match stale)."""
    await session.execute(
        select(AudioRecording.id).where(AudioRecording.id == recording_id).with_for_update()
    )


async def add_version(
    session: AsyncSession,
    *,
    tenant_id: TenantId,
    recording_id: uuid.UUID,
    version: int,
    segments: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, Any],
    reviewed_by: uuid.UUID,
) -> Annotation:
    """Insert a reviewed version; a version that exists already raises IntegrityError (the
    unique (recording_id, version) constraint)."""
    annotation = Annotation(
        tenant_id=tenant_id,
        recording_id=recording_id,
        version=version,
        segments=list(segments),
        events=list(events),
        metrics=dict(metrics),
        reviewed_by=reviewed_by,
        reviewed_at=func.now(),
    )
    session.add(annotation)
    await session.flush()
    await session.refresh(annotation)
    return annotation


@dataclass(frozen=True, slots=True)
class VersionSummary:
    version: int
    reviewed_by: uuid.UUID | None
    reviewed_at: datetime | None
    created_at: datetime
    event_count: int
    """Events counted in the metrics."""
    to_review_count: int
    """Events listed for review, not counted."""
    percent_syllables_stuttered: float | None


async def versions(
    session: AsyncSession, *, recording_id: uuid.UUID, before: int | None, limit: int
) -> list[VersionSummary]:
    """Newest first; ``before`` is the last version of the previous page."""
    query = select(
        Annotation.version,
        Annotation.reviewed_by,
        Annotation.reviewed_at,
        Annotation.created_at,
        Annotation.events,
        Annotation.metrics["percent_syllables_stuttered"].label("pss"),
    ).where(Annotation.recording_id == recording_id)
    if before is not None:
        query = query.where(Annotation.version < before)
    rows = (await session.execute(query.order_by(Annotation.version.desc()).limit(limit))).all()
    summaries = []
    for row in rows:
        listed = sum(1 for event in row.events if event.get("to_review"))
        summaries.append(
            VersionSummary(
                version=row.version,
                reviewed_by=row.reviewed_by,
                reviewed_at=row.reviewed_at,
                created_at=row.created_at,
                event_count=len(row.events) - listed,
                to_review_count=listed,
                percent_syllables_stuttered=row.pss,
            )
        )
    return summaries
