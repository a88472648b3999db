"""The append-only audit log: the app role may INSERT and SELECT ``audit_events``, nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEvent
from db.session import TenantId


class Action(StrEnum):
    """Every audited action; ``GET /audit_events?action=`` takes these values."""

    login = "login"
    login_failed = "login_failed"
    refresh_token_reused = "refresh_token_reused"  # noqa: S105 (an action name)
    user_created = "user_created"
    client_created = "client_created"
    client_read = "client_read"
    client_updated = "client_updated"
    client_exported = "client_exported"
    client_erased = "client_erased"
    client_assigned = "client_assigned"
    client_unassigned = "client_unassigned"
    recording_read = "recording_read"
    recording_deleted = "recording_deleted"
    audio_read = "audio_read"
    transcript_exported = "transcript_exported"
    report_read = "report_read"
    report_requested = "report_requested"
    annotation_read = "annotation_read"
    annotation_changed = "annotation_changed"
    tenant_updated = "tenant_updated"
    audio_retention_applied = "audio_retention_applied"
    job_retried = "job_retried"


async def append(
    session: AsyncSession,
    *,
    tenant_id: TenantId,
    action: Action,
    actor_id: uuid.UUID | None,
    target_type: str | None = None,
    target_id: str | None = None,
    request_id: str | None = None,
    client_ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """One entry, in the caller's transaction: it exists exactly when what it records does."""
    await session.execute(
        insert(AuditEvent).values(
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=action.value,
            target_type=target_type,
            target_id=target_id,
            request_id=request_id,
            client_ip=client_ip,
            details=details or {},
        )
    )


async def page(
    session: AsyncSession,
    *,
    tenant_id: TenantId,
    action: Action | None,
    before_id: int | None,
    limit: int,
) -> Sequence[AuditEvent]:
    """Newest first; ``before_id`` is the cursor (the last id of the previous page)."""
    stmt = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action.value)
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    stmt = stmt.order_by(AuditEvent.id.desc()).limit(limit)
    return (await session.scalars(stmt)).all()
