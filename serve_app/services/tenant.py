"""The clinic's own settings (admins): today its audio retention period.

Takes the request's tenant session and never commits.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Tenant
from db.repositories import retention
from fluently.errors import Unauthorized
from serve_app.security import AuthUser
from serve_app.services.audit import Action, Auditor


async def get_tenant(session: AsyncSession, *, admin: AuthUser) -> Tenant:
    found = await retention.tenant(session, tenant_id=admin.tenant_id)
    if found is None:
        raise Unauthorized("the clinic no longer exists", code="invalid_token")
    return found


async def set_audio_retention(
    session: AsyncSession, *, admin: AuthUser, auditor: Auditor, days: int | None
) -> Tenant:
    """Keep audio ``days`` days after upload (None: keep it); the daily retention job applies
    it. The audit entry records the old and the new period."""
    before = (await get_tenant(session, admin=admin)).audio_retention_days
    updated = await retention.set_audio_retention_days(
        session, tenant_id=admin.tenant_id, days=days
    )
    if updated is None:
        raise Unauthorized("the clinic no longer exists", code="invalid_token")
    if before != days:
        await auditor.record(
            session,
            tenant_id=admin.tenant_id,
            actor_id=admin.id,
            action=Action.tenant_updated,
            target_type="tenant",
            target_id=admin.tenant_id,
            details={"audio_retention_days": {"from": before, "to": days}},
        )
    return updated
