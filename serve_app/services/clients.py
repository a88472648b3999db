"""Clients and their care team: create, read, update, list, assign; a client's sessions; the
session fields of an upload (``client_id``, ``recorded_at``, ``task``).

Who may do what:
- admins see, create and update every client of their clinic and manage assignments;
- members see, create and update the clients assigned to them; a member who creates a client
  is assigned to it; they may list a client's assignments but not change them (403);
- a client the caller may not see answers 404 on every route, whatever the route does, so ids
  leak nothing.

Takes the request's tenant session and never commits; audit entries land in the same
transaction as what they record.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AudioRecording, Client, SessionTask
from db.repositories import clients, users
from db.repositories.clients import AssignmentRow
from db.repositories.recordings import Viewer
from fluently.errors import Forbidden, NotFound, UnprocessableEntity
from serve_app.services import cursors
from serve_app.services.audit import Action, Auditor

CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a ``recorded_at`` may be (the recording device's clock may be ahead)."""


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list, and where the next one starts (None on the last page)."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class SessionFields:
    """What an upload says about the session it records."""

    client_id: uuid.UUID | None
    recorded_at: datetime | None
    task: str | None


async def create_client(
    session: AsyncSession, *, viewer: Viewer, auditor: Auditor, fields: Mapping[str, Any]
) -> Client:
    client = await clients.create(
        session, tenant_id=viewer.tenant_id, created_by=viewer.user_id, fields=fields
    )
    await _audit(session, auditor, viewer, Action.client_created, client.id)
    if not viewer.is_admin:
        await clients.assign(
            session, tenant_id=viewer.tenant_id, client_id=client.id, user_id=viewer.user_id
        )
        await _audit(
            session,
            auditor,
            viewer,
            Action.client_assigned,
            client.id,
            details={"user_id": str(viewer.user_id)},
        )
    return client


async def visible_client(session: AsyncSession, *, viewer: Viewer, client_id: uuid.UUID) -> Client:
    """The client, if ``viewer`` may see it; 404 otherwise."""
    client = await clients.get(session, viewer=viewer, client_id=client_id)
    if client is None:
        raise NotFound("client not found")
    return client


async def read_client(
    session: AsyncSession, *, viewer: Viewer, auditor: Auditor, client_id: uuid.UUID
) -> Client:
    client = await visible_client(session, viewer=viewer, client_id=client_id)
    await _audit(session, auditor, viewer, Action.client_read, client.id)
    return client


async def list_clients(
    session: AsyncSession, *, viewer: Viewer, limit: int, cursor: str | None
) -> Page[Client]:
    """Newest first; 400 ``invalid_cursor`` for a cursor this service did not make."""
    before = cursors.decode(cursor) if cursor else None
    rows = await clients.list_page(session, viewer=viewer, limit=limit + 1, before=before)
    page = rows[:limit]
    more = len(rows) > limit and bool(page)
    return Page(page, cursors.encode(page[-1].created_at, page[-1].id) if more else None)


async def update_client(
    session: AsyncSession,
    *,
    viewer: Viewer,
    auditor: Auditor,
    client_id: uuid.UUID,
    changes: Mapping[str, Any],
) -> Client:
    """Apply ``changes`` (already validated); the audit entry names the fields, not values."""
    if not changes:
        return await visible_client(session, viewer=viewer, client_id=client_id)
    client = await clients.update_fields(
        session, viewer=viewer, client_id=client_id, fields=changes
    )
    if client is None:
        raise NotFound("client not found")
    await _audit(
        session,
        auditor,
        viewer,
        Action.client_updated,
        client.id,
        details={"fields": sorted(changes)},
    )
    return client


async def list_assignments(
    session: AsyncSession, *, viewer: Viewer, client_id: uuid.UUID
) -> list[AssignmentRow]:
    await visible_client(session, viewer=viewer, client_id=client_id)
    return await clients.assignments(session, tenant_id=viewer.tenant_id, client_id=client_id)


async def assign(
    session: AsyncSession,
    *,
    viewer: Viewer,
    auditor: Auditor,
    client_id: uuid.UUID,
    user_id: uuid.UUID,
) -> tuple[AssignmentRow, bool]:
    """Assign a user of the clinic to the client (admins); ``(assignment, created)``.

    404 for a client the caller cannot see, 403 for members, 422 ``user_not_found`` for a user
    who is not in the clinic. Assigning twice changes nothing.
    """
    await _admin_for(session, viewer=viewer, client_id=client_id)
    if await users.get_user(session, tenant_id=viewer.tenant_id, user_id=user_id) is None:
        raise UnprocessableEntity("no such user in your clinic", code="user_not_found")
    created = await clients.assign(
        session, tenant_id=viewer.tenant_id, client_id=client_id, user_id=user_id
    )
    if created:
        await _audit(
            session,
            auditor,
            viewer,
            Action.client_assigned,
            client_id,
            details={"user_id": str(user_id)},
        )
    rows = await clients.assignments(session, tenant_id=viewer.tenant_id, client_id=client_id)
    return next(row for row in rows if row.user_id == user_id), created


async def unassign(
    session: AsyncSession,
    *,
    viewer: Viewer,
    auditor: Auditor,
    client_id: uuid.UUID,
    user_id: uuid.UUID,
) -> None:
    """Remove an assignment (admins); 404 when there is none."""
    await _admin_for(session, viewer=viewer, client_id=client_id)
    removed = await clients.unassign(
        session, tenant_id=viewer.tenant_id, client_id=client_id, user_id=user_id
    )
    if not removed:
        raise NotFound("this user is not assigned to the client", code="assignment_not_found")
    await _audit(
        session,
        auditor,
        viewer,
        Action.client_unassigned,
        client_id,
        details={"user_id": str(user_id)},
    )


async def client_recordings(
    session: AsyncSession,
    *,
    viewer: Viewer,
    auditor: Auditor,
    client_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> Page[AudioRecording]:
    """The client's sessions, latest first by ``recorded_at``."""
    await visible_client(session, viewer=viewer, client_id=client_id)
    before = cursors.decode(cursor) if cursor else None
    rows = await clients.recordings_page(
        session, viewer=viewer, client_id=client_id, limit=limit + 1, before=before
    )
    page = rows[:limit]
    more = len(rows) > limit and bool(page)
    last = page[-1] if page else None
    next_cursor = (
        cursors.encode(last.recorded_at or last.created_at, last.id) if more and last else None
    )
    await _audit(
        session, auditor, viewer, Action.client_read, client_id, details={"view": "recordings"}
    )
    return Page(page, next_cursor)


async def session_fields(
    session: AsyncSession, *, viewer: Viewer, fields: Mapping[str, str], now: datetime
) -> SessionFields:
    """Check an upload's ``client_id`` (a client the caller sees, else 404
    ``client_not_found``), ``recorded_at`` (ISO 8601 with a time zone, not in the future; default
    ``now``) and ``task`` (a ``SessionTask``)."""
    client_id = _client_id(fields.get("client_id"))
    if (
        client_id is not None
        and await clients.get(session, viewer=viewer, client_id=client_id) is None
    ):
        raise NotFound("client not found", code="client_not_found")
    return SessionFields(
        client_id=client_id,
        recorded_at=_recorded_at(fields.get("recorded_at"), now=now) or now,
        task=_task(fields.get("task")),
    )


def _client_id(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise UnprocessableEntity("client_id must be a UUID", code="invalid_client_id") from None


def _recorded_at(value: str | None, *, now: datetime) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise UnprocessableEntity(
            "recorded_at must be an ISO 8601 time with a time zone, e.g. 2026-03-01T10:30:00Z",
            code="invalid_recorded_at",
        )
    if parsed > now + CLOCK_SKEW:
        raise UnprocessableEntity("recorded_at is in the future", code="invalid_recorded_at")
    return parsed.astimezone(UTC)


def _task(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return SessionTask(value).value
    except ValueError:
        allowed = ", ".join(t.value for t in SessionTask)
        raise UnprocessableEntity(f"task must be one of: {allowed}", code="invalid_task") from None


async def _admin_for(session: AsyncSession, *, viewer: Viewer, client_id: uuid.UUID) -> None:
    """404 before 403: a member learns nothing about clients they cannot see."""
    await visible_client(session, viewer=viewer, client_id=client_id)
    if not viewer.is_admin:
        raise Forbidden("only admins manage a client's assignments")


async def _audit(
    session: AsyncSession,
    auditor: Auditor,
    viewer: Viewer,
    action: Action,
    client_id: uuid.UUID,
    *,
    details: dict[str, Any] | None = None,
) -> None:
    await auditor.record_by(
        session,
        viewer,
        action=action,
        target_type="client",
        target_id=client_id,
        details=details,
    )
