"""Who did what to which record, from where: one entry per audited action (``audit_events``).

Routes take ``AuditDep`` (serve_app/deps.py) and call ``record`` in the request's tenant session,
so an entry commits exactly when the action does. Entries hold ids, never names or clinical
text: they outlive an erased client without identifying them. ``Action`` lives in
``db/repositories/audit.py`` so that jobs below this layer (retention) name theirs too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEvent
from db.repositories import audit
from db.repositories.audit import Action as Action
from db.repositories.recordings import Viewer
from db.session import TenantId
from fluently.errors import BadRequest


@dataclass(frozen=True)
class Auditor:
    """The request's context (request id, client address) for the entries it writes.

    ``discloses``: False for a ``HEAD``, answered with a ``GET``'s headers and no content:
    nothing of the record is read, so, like a 304, it writes no entry.
    """

    request_id: str | None
    client_ip: str | None
    discloses: bool = True

    async def record_by(
        self,
        session: AsyncSession,
        viewer: Viewer,
        *,
        action: Action,
        target_type: str | None = None,
        target_id: uuid.UUID | str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """An entry for what a signed-in ``viewer`` did, in their clinic."""
        await self.record(
            session,
            tenant_id=viewer.tenant_id,
            actor_id=viewer.user_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details,
        )

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
        if not self.discloses:
            return
        await audit.append(
            session,
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            request_id=self.request_id,
            client_ip=self.client_ip,
            details=details,
        )


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page of entries, newest first, and where the next starts (None on the last)."""

    events: list[AuditEvent]
    next_cursor: str | None


async def list_events(
    session: AsyncSession,
    *,
    tenant_id: TenantId,
    action: Action | None,
    limit: int,
    cursor: str | None,
) -> AuditPage:
    """The clinic's entries, newest first; 400 ``invalid_cursor`` for a cursor this did not
    make (the cursor is the id of the last entry of the previous page)."""
    before_id = None
    if cursor:
        if not (
            len(cursor) <= 19 and cursor.isascii() and cursor.isdigit() and int(cursor) < 2**63
        ):
            raise BadRequest("cursor is not valid", code="invalid_cursor")
        before_id = int(cursor)
    rows = await audit.page(
        session,
        tenant_id=tenant_id,
        action=action,
        before_id=before_id,
        limit=limit + 1,
    )
    events = list(rows[:limit])
    more = len(rows) > limit and bool(events)
    return AuditPage(events=events, next_cursor=str(events[-1].id) if more else None)
