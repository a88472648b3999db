"""The clinic's audit log: who read, exported, changed or erased what, and from where."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from serve_app.deps import AdminUser, TenantSession
from serve_app.schemas import AuditEventOut, AuditEventPage
from serve_app.services import audit as service
from serve_app.services.audit import Action

router = APIRouter(prefix="/audit_events", tags=["audit"])


@router.get("")
async def list_audit_events(
    admin: AdminUser,
    session: TenantSession,
    action: Action | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> AuditEventPage:
    """Entries of your clinic, newest first (admins only); ``action`` keeps one kind. Pass
    ``next_cursor`` back as ``cursor`` for the next page."""
    page = await service.list_events(
        session, tenant_id=admin.tenant_id, action=action, limit=limit, cursor=cursor
    )
    return AuditEventPage(
        items=[AuditEventOut.model_validate(e) for e in page.events],
        next_cursor=page.next_cursor,
    )
