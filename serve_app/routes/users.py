"""Users of the caller's tenant, managed by its admins."""

from __future__ import annotations

from fastapi import APIRouter

from serve_app.deps import AdminUser, AuthServiceDep, ClientIP, TenantSession
from serve_app.schemas import NewUser, UserOut
from serve_app.services import auth as service

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", status_code=201)
async def create_user(
    body: NewUser, admin: AdminUser, auth: AuthServiceDep, client_ip: ClientIP
) -> UserOut:
    """Add a user to your tenant (admins only). Emails are unique across the platform, so an
    email registered anywhere is refused with 409; attempts are rate limited (429).
    """
    user = await auth.add_user(
        admin=admin,
        email=body.email,
        password=body.password,
        role=body.role,
        client_ip=client_ip,
    )
    return UserOut.model_validate(user)


@router.get("")
async def list_users(admin: AdminUser, session: TenantSession) -> list[UserOut]:
    """Every user of your tenant, oldest first (admins only)."""
    return [UserOut.model_validate(u) for u in await service.list_users(session, admin=admin)]
