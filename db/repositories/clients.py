"""Clients (the people a clinic treats), their assignments to members, their sessions and the
figures of those sessions over time. Every function runs in a tenant-scoped session; who may see
a client or a recording is decided by ``Viewer`` (db/repositories/recordings.py), nowhere else.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Annotation,
    AudioRecording,
    Client,
    ClientAssignment,
    RecordingStatus,
    Report,
    ReportStatus,
    User,
)
from db.repositories import pages
from db.repositories.recordings import Viewer, client_visible, visible
from db.session import TenantId

SESSION_TIME: ColumnElement[datetime] = func.coalesce(
    AudioRecording.recorded_at, AudioRecording.created_at
)
"""When a session took place: ``recorded_at``, else (rows older than it) the upload time."""


@dataclass(frozen=True, slots=True)
class AssignmentRow:
    user_id: uuid.UUID
    email: str
    role: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ProgressRow:
    """One processed session's figure: from its latest annotation, else its automatic report."""

    recording_id: uuid.UUID
    recorded_at: datetime
    value: Any
    """The metric as stored in JSON (a number, or None where it is undefined)."""
    reviewed: bool
    """Whether the annotation it comes from is a clinician's review (version > 1)."""
    task: str | None


async def create(
    session: AsyncSession,
    *,
    tenant_id: TenantId,
    created_by: uuid.UUID,
    fields: Mapping[str, Any],
) -> Client:
    result = await session.execute(
        insert(Client)
        .values(tenant_id=tenant_id, created_by=created_by, **fields)
        .returning(Client)
    )
    return result.scalar_one()


async def get(session: AsyncSession, *, viewer: Viewer, client_id: uuid.UUID) -> Client | None:
    result = await session.execute(
        select(Client).where(Client.id == client_id, client_visible(viewer))
    )
    return result.scalar_one_or_none()


async def list_page(
    session: AsyncSession,
    *,
    viewer: Viewer,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None,
) -> list[Client]:
    """Newest first; ``before`` is the (created_at, id) of the last item of the previous page."""
    return await pages.newest_first(
        session,
        select(Client).where(client_visible(viewer)),
        at=Client.created_at,
        ident=Client.id,
        before=before,
        limit=limit,
    )


async def update_fields(
    session: AsyncSession, *, viewer: Viewer, client_id: uuid.UUID, fields: Mapping[str, Any]
) -> Client | None:
    """Set ``fields`` on a client ``viewer`` sees; None when there is no such client."""
    result = await session.execute(
        update(Client)
        .where(Client.id == client_id, client_visible(viewer))
        .values(**fields, updated_at=func.now())
        .returning(Client)
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def assign(
    session: AsyncSession, *, tenant_id: TenantId, client_id: uuid.UUID, user_id: uuid.UUID
) -> bool:
    """Assign a user of the tenant to the client; False when they already were."""
    result = await session.execute(
        insert(ClientAssignment)
        .values(tenant_id=tenant_id, client_id=client_id, user_id=user_id)
        .on_conflict_do_nothing(
            index_elements=[ClientAssignment.client_id, ClientAssignment.user_id]
        )
        .returning(ClientAssignment.user_id)
    )
    return result.scalar_one_or_none() is not None


async def unassign(
    session: AsyncSession, *, tenant_id: TenantId, client_id: uuid.UUID, user_id: uuid.UUID
) -> bool:
    """False when the user was not assigned to the client."""
    result = await session.execute(
        delete(ClientAssignment)
        .where(
            ClientAssignment.tenant_id == tenant_id,
            ClientAssignment.client_id == client_id,
            ClientAssignment.user_id == user_id,
        )
        .returning(ClientAssignment.user_id)
    )
    return result.scalar_one_or_none() is not None


async def assignments(
    session: AsyncSession, *, tenant_id: TenantId, client_id: uuid.UUID
) -> list[AssignmentRow]:
    """The users assigned to the client, in the order they were assigned."""
    result = await session.execute(
        select(ClientAssignment.user_id, User.email, User.role, ClientAssignment.created_at)
        .join(User, User.id == ClientAssignment.user_id)
        .where(ClientAssignment.tenant_id == tenant_id, ClientAssignment.client_id == client_id)
        .order_by(ClientAssignment.created_at, ClientAssignment.user_id)
    )
    return [AssignmentRow(*row) for row in result]


async def recordings_page(
    session: AsyncSession,
    *,
    viewer: Viewer,
    client_id: uuid.UUID,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None,
) -> list[AudioRecording]:
    """The client's sessions, latest first by when they took place; ``before`` is the
    (session time, id) of the last item of the previous page."""
    return await pages.newest_first(
        session,
        select(AudioRecording).where(AudioRecording.client_id == client_id, visible(viewer)),
        at=SESSION_TIME,
        ident=AudioRecording.id,
        before=before,
        limit=limit,
    )


async def progress(
    session: AsyncSession,
    *,
    viewer: Viewer,
    client_id: uuid.UUID,
    metric: str,
    task: str | None = None,
) -> list[ProgressRow]:
    """``metric`` for each of the client's processed sessions (of one ``task`` if given),
    oldest first.

    The figure comes from the recording's latest annotation version (a clinician's review when
    there is one), else from its automatic report; ``metric`` is a key of the metrics JSON
    (``pipelines.metrics.FluencyMetrics.to_dict``), so only that value leaves the database.
    """
    latest = (
        select(Annotation.version, Annotation.metrics[metric].label("value"))
        .where(Annotation.recording_id == AudioRecording.id)
        .order_by(Annotation.version.desc())
        .limit(1)
        .lateral("latest")
    )
    report = (
        select(Report.metrics[metric].label("value"))
        .where(
            Report.recording_id == AudioRecording.id,
            Report.status == ReportStatus.ready.value,
            Report.metrics.is_not(None),
        )
        .order_by(Report.automatic.desc(), Report.created_at.desc())
        .limit(1)
        .lateral("report")
    )
    query = (
        select(
            AudioRecording.id,
            SESSION_TIME,
            AudioRecording.task,
            latest.c.version,
            latest.c.value,
            report.c.value,
        )
        .select_from(AudioRecording)
        .outerjoin(latest, true())
        .outerjoin(report, true())
        .where(
            AudioRecording.client_id == client_id,
            AudioRecording.status == RecordingStatus.processed.value,
            visible(viewer),
        )
        .order_by(SESSION_TIME, AudioRecording.id)
    )
    if task is not None:
        query = query.where(AudioRecording.task == task)
    return [
        ProgressRow(
            recording_id=recording_id,
            recorded_at=recorded_at,
            value=annotated if version is not None else reported,
            reviewed=version is not None and version > 1,
            task=session_task,
        )
        for recording_id, recorded_at, session_task, version, annotated, reported in (
            await session.execute(query)
        )
    ]
