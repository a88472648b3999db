"""A client's whole record, for its export and its erasure: the client's sessions with their
annotations and reports, and the one statement that erases them all.

Every function runs in a tenant-scoped session. Who may see the client is checked first
(``db.repositories.clients.get``); these functions then read by the client's or recording's id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Annotation, AudioRecording, Client, Report
from db.session import TenantId


async def recording_ids(session: AsyncSession, *, client_id: uuid.UUID) -> list[uuid.UUID]:
    """The client's sessions, oldest first by when they took place."""
    result = await session.execute(
        select(AudioRecording.id)
        .where(AudioRecording.client_id == client_id)
        .order_by(
            func.coalesce(AudioRecording.recorded_at, AudioRecording.created_at),
            AudioRecording.id,
        )
    )
    return list(result.scalars())


async def recording_of_client(
    session: AsyncSession, *, client_id: uuid.UUID, recording_id: uuid.UUID
) -> AudioRecording | None:
    """None once the recording is gone (deleted while an export streams)."""
    result = await session.execute(
        select(AudioRecording).where(
            AudioRecording.id == recording_id, AudioRecording.client_id == client_id
        )
    )
    return result.scalar_one_or_none()


async def annotation_versions(
    session: AsyncSession, *, recording_id: uuid.UUID
) -> Sequence[Annotation]:
    """Every version, oldest first."""
    result = await session.execute(
        select(Annotation)
        .where(Annotation.recording_id == recording_id)
        .order_by(Annotation.version)
    )
    return result.scalars().all()


async def reports(session: AsyncSession, *, recording_id: uuid.UUID) -> Sequence[Report]:
    """Every report of the recording, oldest first."""
    result = await session.execute(
        select(Report)
        .where(Report.recording_id == recording_id)
        .order_by(Report.created_at, Report.id)
    )
    return result.scalars().all()


async def lock_client(
    session: AsyncSession, *, tenant_id: TenantId, client_id: uuid.UUID
) -> Client | None:
    """The client, locked until the transaction ends: an upload naming it waits (its foreign
    key check needs a share lock), then fails once the client is gone."""
    result = await session.execute(
        select(Client)
        .where(Client.id == client_id, Client.tenant_id == tenant_id)
        .with_for_update()
    )
    return result.scalar_one_or_none()


async def storage_keys(session: AsyncSession, *, client_id: uuid.UUID) -> list[str]:
    """Where every session of the client keeps its audio, deleted by retention or not (deleting
    a missing object is harmless, and a crash may have left one half-deleted)."""
    result = await session.execute(
        select(AudioRecording.storage_key).where(AudioRecording.client_id == client_id)
    )
    return list(result.scalars())


async def erase_client(session: AsyncSession, *, tenant_id: TenantId, client_id: uuid.UUID) -> int:
    """Delete the client; its assignments, recordings and, through them, transcripts,
    annotations, reports and jobs go by ``ON DELETE CASCADE``. Returns how many recordings
    went with it."""
    gone = await session.execute(
        delete(AudioRecording)
        .where(AudioRecording.client_id == client_id, AudioRecording.tenant_id == tenant_id)
        .returning(AudioRecording.id)
    )
    count = len(gone.all())
    await session.execute(
        delete(Client).where(Client.id == client_id, Client.tenant_id == tenant_id)
    )
    return count
