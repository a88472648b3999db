"""Recordings, their transcripts and reports. Every function runs in a tenant-scoped session."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    AudioRecording,
    Client,
    ClientAssignment,
    RecordingStatus,
    Report,
    ReportStatus,
    Transcription,
)
from db.repositories import annotations as annotation_versions
from db.repositories import pages
from db.session import TenantId

CHANNEL = "fluently_recordings"
"""NOTIFYed with a recording's id whenever it changes or is deleted (trigger
``audio_recordings_notify``)."""


@dataclass(frozen=True)
class Viewer:
    """Who is asking. Admins see their whole tenant's clients and recordings; members see the
    clients assigned to them, their own recordings and those of their clients."""

    tenant_id: TenantId
    user_id: uuid.UUID
    is_admin: bool


def assigned_clients(viewer: Viewer) -> Select[Any]:
    """The ids of the clients assigned to ``viewer`` (a subquery)."""
    return select(ClientAssignment.client_id).where(
        ClientAssignment.tenant_id == viewer.tenant_id,
        ClientAssignment.user_id == viewer.user_id,
    )


def client_visible(viewer: Viewer) -> ColumnElement[bool]:
    """Which ``clients`` rows ``viewer`` may see: every one of the tenant's for an admin."""
    condition = Client.tenant_id == viewer.tenant_id
    if not viewer.is_admin:
        condition = condition & Client.id.in_(assigned_clients(viewer))
    return condition


def visible(viewer: Viewer) -> ColumnElement[bool]:
    """Which ``audio_recordings`` rows ``viewer`` may see: a member's own and those of the
    clients assigned to them; every one of the tenant's for an admin."""
    condition = AudioRecording.tenant_id == viewer.tenant_id
    if not viewer.is_admin:
        condition = condition & (
            (AudioRecording.user_id == viewer.user_id)
            | AudioRecording.client_id.in_(assigned_clients(viewer))
        )
    return condition


def deletable(viewer: Viewer) -> ColumnElement[bool]:
    """Which recordings ``viewer`` may delete: their own uploads; every one of the tenant's for
    an admin. Seeing a client's sessions (an assigned member) is not owning them."""
    condition = AudioRecording.tenant_id == viewer.tenant_id
    if not viewer.is_admin:
        condition = condition & (AudioRecording.user_id == viewer.user_id)
    return condition


@dataclass(frozen=True)
class RecordingDetail:
    recording: AudioRecording
    transcript: dict[str, Any] | None
    """As JSON: the shape of ``pipelines.types.Transcript.to_dict``."""
    report: dict[str, Any] | None
    """As JSON: the shape of ``pipelines.types.FluencyReport.to_dict``."""
    metrics: dict[str, Any] | None = None
    """The latest annotation version's (``FluencyMetrics.to_dict``): reviewed ones win."""


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


async def find_visible_by_sha256(
    session: AsyncSession, *, viewer: Viewer, sha256: str, channel: str
) -> AudioRecording | None:
    """A recording of these bytes and ``channel`` (each channel is another speaker) that
    ``viewer`` may see: their own if there is one, else (admins) the tenant's oldest. Never
    another member's for a member: handing back an id the caller cannot read would only tell
    them someone else uploaded the same audio."""
    result = await session.execute(
        select(AudioRecording)
        .where(visible(viewer), AudioRecording.sha256 == sha256, AudioRecording.channel == channel)
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
        select(AudioRecording).where(AudioRecording.id == recording_id, visible(viewer))
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
        await annotation_versions.latest_metrics(session, recording_id=recording_id),
    )


async def transcript_of(session: AsyncSession, *, recording_id: uuid.UUID) -> dict[str, Any] | None:
    """The stored transcript's JSON; call it for a recording the viewer may see."""
    return await _stored(session, _TRANSCRIPT_COLUMNS, Transcription.recording_id, recording_id)


async def report_of(session: AsyncSession, *, recording_id: uuid.UUID) -> dict[str, Any] | None:
    """The newest ready report's JSON; call it for a recording the viewer may see."""
    row = await session.execute(
        select(*_REPORT_COLUMNS)
        .where(Report.recording_id == recording_id, Report.status == ReportStatus.ready.value)
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(1)
    )
    found = row.mappings().one_or_none()
    return None if found is None else dict(found)


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
    return await pages.newest_first(
        session,
        select(AudioRecording).where(visible(viewer)),
        at=AudioRecording.created_at,
        ident=AudioRecording.id,
        before=before,
        limit=limit,
    )


async def delete_recording(
    session: AsyncSession, *, viewer: Viewer, recording_id: uuid.UUID
) -> str | None:
    """Delete the recording (jobs, transcript and report cascade) if ``viewer`` may
    (``deletable``); returns its storage key, or None when nothing was deleted."""
    result = await session.execute(
        delete(AudioRecording)
        .where(AudioRecording.id == recording_id, deletable(viewer))
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


async def requeue_failed(session: AsyncSession, *, recording_id: uuid.UUID) -> None:
    """Back to pending with no error, as after its upload, while its job is queued again."""
    await session.execute(
        update(AudioRecording)
        .where(
            AudioRecording.id == recording_id,
            AudioRecording.status == RecordingStatus.failed.value,
        )
        .values(status=RecordingStatus.pending.value, error=None, chunks_done=0, chunks_total=0)
    )


async def restore_audio(session: AsyncSession, *, recording_id: uuid.UUID) -> None:
    """The recording's audio is stored again (the same bytes, uploaded again)."""
    await session.execute(
        update(AudioRecording)
        .where(AudioRecording.id == recording_id)
        .values(audio_deleted_at=None)
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
    duration_s: float,
) -> None:
    """Write transcript, automatic report and annotation version 1 as JSON
    (``pipelines.types``' ``to_dict``), replacing a previous attempt's, and mark the recording
    processed with ``duration_s``, the length of the audio decoded: a header measured at
    upload can be wrong (a file cut short keeps its header's full length)."""
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
    rstmt = insert(Report).values(
        **report_values, automatic=True, status=ReportStatus.ready.value, annotation_version=1
    )
    await session.execute(
        rstmt.on_conflict_do_update(
            index_elements=[Report.recording_id],
            index_where=text("automatic"),
            set_={k: rstmt.excluded[k] for k in report_values if k != "recording_id"},
        )
    )
    await annotation_versions.store_automatic(
        session,
        tenant_id=tenant_id,
        recording_id=recording_id,
        segments=transcript["segments"],
        metrics=report["metrics"],
    )
    await session.execute(
        update(AudioRecording)
        .where(AudioRecording.id == recording_id)
        .values(status=RecordingStatus.processed.value, error=None, duration_s=duration_s)
    )
