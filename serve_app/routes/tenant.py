"""The clinic's settings (admins only): today, how long recorded audio is kept."""

from __future__ import annotations

from fastapi import APIRouter

from serve_app.deps import AdminUser, AuditDep, TenantSession
from serve_app.schemas import TenantOut, TenantPatch
from serve_app.services import tenant as service

router = APIRouter(prefix="/tenant", tags=["tenant"])


@router.get("")
async def get_tenant(admin: AdminUser, session: TenantSession) -> TenantOut:
    """Your clinic and its settings."""
    return TenantOut.model_validate(await service.get_tenant(session, admin=admin))


@router.patch("")
async def update_tenant(
    body: TenantPatch, admin: AdminUser, session: TenantSession, auditor: AuditDep
) -> TenantOut:
    """Set ``audio_retention_days`` (1–3650, or null to keep audio). A daily job then deletes
    audio uploaded longer ago than that; transcripts, annotations and reports stay, and the
    recording shows ``audio_deleted_at``."""
    changes = body.changes()
    if "audio_retention_days" not in changes:
        return TenantOut.model_validate(await service.get_tenant(session, admin=admin))
    tenant = await service.set_audio_retention(
        session, admin=admin, auditor=auditor, days=changes["audio_retention_days"]
    )
    return TenantOut.model_validate(tenant)
