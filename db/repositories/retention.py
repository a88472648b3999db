"""A clinic's audio retention: the setting on its tenant row, the audio it makes due, and the
schedule (``scheduled_tasks``) that enqueues the job applying it.

The setting and the audio are read in a tenant-scoped session. ``schedule_due`` runs the
SECURITY DEFINER ``fluently_schedule_due`` (migration 0004), the one path that sees every
tenant's setting; it needs no tenant.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AudioRecording, Queue, RecordingStatus, Tenant
from db.session import TenantId

AUDIO_RETENTION_TASK = "audio_retention"
"""The ``scheduled_tasks`` row of the daily retention run (inserted by migration 0004)."""


async def tenant(session: AsyncSession, *, tenant_id: TenantId) -> Tenant | None:
    result = await session.execute(select(Tenant).where(Tenant.id == tenant_id))
    return result.scalar_one_or_none()


async def set_audio_retention_days(
    session: AsyncSession, *, tenant_id: TenantId, days: int | None
) -> Tenant | None:
    result = await session.execute(
        update(Tenant)
        .where(Tenant.id == tenant_id)
        .values(audio_retention_days=days)
        .returning(Tenant)
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def audio_due(
    session: AsyncSession, *, tenant_id: TenantId, uploaded_before: datetime, limit: int
) -> list[tuple[uuid.UUID, str]]:
    """``(recording id, storage key)`` of audio uploaded before ``uploaded_before`` and still
    stored, locked (SKIP LOCKED, so two runs share the work rather than wait on each other).

    Recordings still being processed keep their audio: the pipeline is reading it.
    """
    result = await session.execute(
        select(AudioRecording.id, AudioRecording.storage_key)
        .where(
            AudioRecording.tenant_id == tenant_id,
            AudioRecording.audio_deleted_at.is_(None),
            AudioRecording.created_at < uploaded_before,
            AudioRecording.status.in_(
                [RecordingStatus.processed.value, RecordingStatus.failed.value]
            ),
        )
        .order_by(AudioRecording.created_at, AudioRecording.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [(recording_id, key) for recording_id, key in result]


async def mark_audio_deleted(
    session: AsyncSession, *, recording_ids: list[uuid.UUID], at: datetime
) -> None:
    await session.execute(
        update(AudioRecording)
        .where(AudioRecording.id.in_(recording_ids))
        .values(audio_deleted_at=at)
    )


async def schedule_due(
    session: AsyncSession, *, task: str, kind: str, queue: Queue, max_attempts: int
) -> int:
    """Claim ``task`` if it is due and enqueue a ``kind`` job for every clinic with a retention
    period; returns how many were enqueued (0 when not due, or when another worker claimed it).

    The claim is one UPDATE of the task's row guarded by ``next_run_at <= now()``: concurrent
    callers queue on the row lock, and each after the first finds it no longer due.
    """
    result = await session.execute(
        text("SELECT fluently_schedule_due(:task, :kind, :queue, :priority, :max_attempts)"),
        {
            "task": task,
            "kind": kind,
            "queue": queue.value,
            "priority": queue.priority,
            "max_attempts": max_attempts,
        },
    )
    enqueued: int = result.scalar_one()
    return enqueued
