"""Who did what to which record, from where: one entry per audited action (``audit_events``).

Routes take ``AuditDep`` (serve_app/deps.py) and call ``record`` in the request's tenant session,
so an entry commits exactly when the action does. Entries hold ids, never names or clinical
text: they outlive an erased client without identifying them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.repositories import audit
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
    recording_read = "recording_read"
    transcript_exported = "transcript_exported"
    report_read = "report_read"
    annotation_changed = "annotation_changed"
    tenant_updated = "tenant_updated"
    audio_retention_applied = "audio_retention_applied"


@dataclass(frozen=True)
class Auditor:
    """The request's context (request id, client address) for the entries it writes."""

    request_id: str | None
    client_ip: str | None

    async def record(
        self,
        session: AsyncSession,
        *,
        tenant_id: TenantId,
        actor_id: uuid.UUID | None,
        action: Action,
        target_type: str | None = None,
        target_id: uuid.UUID | str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        await audit.append(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=action.value,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            request_id=self.request_id,
            client_ip=self.client_ip,
            details=details,
        )
