"""Users of the caller's tenant, managed by its admins."""

from __future__ import annotations

from fastapi import APIRouter

from serve_app.deps import AdminUser, AuditDep, PasswordsDep, TenantSession
from serve_app.schemas import NewUser, UserOut
from serve_app.services import auth as service
from serve_app.services.audit import Action

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", status_code=201)
async def create_user(
    body: NewUser,
    admin: AdminUser,
    session: TenantSession,
    passwords: PasswordsDep,
    auditor: AuditDep,
) -> UserOut:
    """Add a user to your tenant (admins only). Emails are unique across the platform."""
    user = await service.add_user(
        session,
        passwords=passwords,
        admin=admin,
        email=body.email,
        password=body.password,
        role=body.role,
    )
    await auditor.record(
        session,
        tenant_id=admin.tenant_id,
        actor_id=admin.id,
        action=Action.user_created,
        target_type="user",
        target_id=user.id,
        details={"role": body.role.value},
    )
    return UserOut.model_validate(user)


@router.get("")
async def list_users(admin: AdminUser, session: TenantSession) -> list[UserOut]:
    """Every user of your tenant, oldest first (admins only)."""
    return [UserOut.model_validate(u) for u in await service.list_users(session, admin=admin)]
