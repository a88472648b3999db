"""Recordings, their transcripts and reports. Every function runs in a tenant-scoped session."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AudioRecording, RecordingStatus, Report, Transcription
from db.session import TenantId

CHANNEL = "fluently_recordings"
"""NOTIFYed with a recording's id whenever it changes or is deleted (trigger
``audio_recordings_notify``)."""


@dataclass(frozen=True)
class Viewer:
    """Who is asking: members see their own recordings, admins their whole tenant's."""

    tenant_id: TenantId
    user_id: uuid.UUID
    is_admin: bool


@dataclass(frozen=True)
class RecordingDetail:
    recording: AudioRecording
    transcript: dict[str, Any] | None
    """As JSON: the shape of ``pipelines.types.Transcript.to_dict``."""
    report: dict[str, Any] | None
    """As JSON: the shape of ``pipelines.types.FluencyReport.to_dict``."""


# The columns that hold a transcript's and a report's JSON, one per key, in the keys' order.
_TRANSCRIPT_COLUMNS = (
    Transcription.text,
    Transcription.language,
    Transcription.backend,
    Transcription.model,
    Transcription.segments,
    Transcription.chunks,
    Transcription.coverage,
)
_REPORT_COLUMNS = (
    Report.type,
    Report.language,
    Report.generator,
    Report.metrics,
    Report.content_markdown,
)


def _visible(viewer: Viewer) -> Any:
    condition = AudioRecording.tenant_id == viewer.tenant_id
    if not viewer.is_admin:
        condition = condition & (AudioRecording.user_id == viewer.user_id)
    return condition


async def find_visible_by_sha256(
    session: AsyncSession, *, viewer: Viewer, sha256: str
) -> AudioRecording | None:
    """A recording of these bytes that ``viewer`` may see: their own if there is one, else
    (admins) the tenant's oldest. Never another member's for a member: handing back an id the
    caller cannot read would only tell them someone else uploaded the same audio."""
    result = await session.execute(
        select(AudioRecording)
        .where(_visible(viewer), AudioRecording.sha256 == sha256)
        .order_by(
            (AudioRecording.user_id == viewer.user_id).desc(),
            AudioRecording.created_at,
            AudioRecording.id,
        )
        .limit(1)
    )
    return result.scalar_one_or_none()


async def create(session: AsyncSession, *, recording: AudioRecording) -> AudioRecording:
    session.add(recording)
    await session.flush()
    return recording


async def get(
    session: AsyncSession, *, viewer: Viewer, recording_id: uuid.UUID
) -> AudioRecording | None:
    result = await session.execute(
        select(AudioRecording).where(AudioRecording.id == recording_id, _visible(viewer))
    )
    return result.scalar_one_or_none()


async def get_detail(
    session: AsyncSession, *, viewer: Viewer, recording_id: uuid.UUID
) -> RecordingDetail | None:
    recording = await get(session, viewer=viewer, recording_id=recording_id)
    if recording is None:
        return None
    return RecordingDetail(
        recording,
        await transcript_of(session, recording_id=recording_id),
        await report_of(session, recording_id=recording_id),
    )


async def transcript_of(session: AsyncSession, *, recording_id: uuid.UUID) -> dict[str, Any] | None:
    """The stored transcript's JSON; call it for a recording the viewer may see."""
    return await _stored(session, _TRANSCRIPT_COLUMNS, Transcription.recording_id, recording_id)


async def report_of(session: AsyncSession, *, recording_id: uuid.UUID) -> dict[str, Any] | None:
    """The stored report's JSON; call it for a recording the viewer may see."""
    return await _stored(session, _REPORT_COLUMNS, Report.recording_id, recording_id)


async def _stored(
    session: AsyncSession, columns: tuple[Any, ...], key: Any, recording_id: uuid.UUID
) -> dict[str, Any] | None:
    row = (await session.execute(select(*columns).where(key == recording_id))).mappings()
    found = row.one_or_none()
    return None if found is None else dict(found)


async def list_page(
    session: AsyncSession,
    *,
    viewer: Viewer,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None,
) -> list[AudioRecording]:
    """Newest first; ``before`` is the (created_at, id) of the last item of the previous page."""
    query = select(AudioRecording).where(_visible(viewer))
    if before is not None:
        query = query.where(tuple_(AudioRecording.created_at, AudioRecording.id) < tuple_(*before))
    query = query.order_by(AudioRecording.created_at.desc(), AudioRecording.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def delete_recording(
    session: AsyncSession, *, viewer: Viewer, recording_id: uuid.UUID
) -> str | None:
    """Delete the recording (jobs, transcript and report cascade); returns its storage key."""
    result = await session.execute(
        delete(AudioRecording)
        .where(AudioRecording.id == recording_id, _visible(viewer))
        .returning(AudioRecording.storage_key)
    )
    return result.scalar_one_or_none()


# -- used by the pipeline worker (tenant set from the claimed job) -------------------------------


async def load_for_processing(
    session: AsyncSession, *, tenant_id: TenantId, recording_id: uuid.UUID
) -> AudioRecording | None:
    result = await session.execute(
        select(AudioRecording).where(
            AudioRecording.id == recording_id, AudioRecording.tenant_id == tenant_id
        )
    )
    return result.scalar_one_or_none()


async def set_progress(
    session: AsyncSession,
    *,
    recording_id: uuid.UUID,
    status: RecordingStatus,
    chunks_done: int,
    chunks_total: int,
) -> None:
    await session.execute(
        update(AudioRecording)
        .where(AudioRecording.id == recording_id)
        .values(status=status.value, chunks_done=chunks_done, chunks_total=chunks_total, error=None)
    )


async def mark_failed(session: AsyncSession, *, recording_id: uuid.UUID, error: str) -> None:
    await session.execute(
        update(AudioRecording)
        .where(AudioRecording.id == recording_id)
        .values(status=RecordingStatus.failed.value, error=error[:2000])
    )


async def store_results(
    session: AsyncSession,
    *,
    tenant_id: TenantId,
    recording_id: uuid.UUID,
    transcript: Mapping[str, Any],
    report: Mapping[str, Any],
) -> None:
    """Write transcript and report as JSON (``pipelines.types``' ``to_dict``), replacing a
    previous attempt's, and mark the recording processed."""
    transcription_values = {
        "tenant_id": tenant_id,
        "recording_id": recording_id,
        **{column.key: transcript[column.key] for column in _TRANSCRIPT_COLUMNS},
    }
    stmt = insert(Transcription).values(**transcription_values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Transcription.recording_id],
            set_={k: stmt.excluded[k] for k in transcription_values if k != "recording_id"},
        )
    )
    report_values = {
        "tenant_id": tenant_id,
        "recording_id": recording_id,
        **{column.key: report[column.key] for column in _REPORT_COLUMNS},
    }
    rstmt = insert(Report).values(**report_values)
    await session.execute(
        rstmt.on_conflict_do_update(
            index_elements=[Report.recording_id],
            set_={k: rstmt.excluded[k] for k in report_values if k != "recording_id"},
        )
    )
    await session.execute(
        update(AudioRecording)
        .where(AudioRecording.id == recording_id)
        .values(status=RecordingStatus.processed.value, error=None)
    )
