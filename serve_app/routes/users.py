"""Users of the caller's tenant, managed by its admins."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, StringConstraints

from db.models import Role
from serve_app.deps import AdminUser, PasswordsDep, TenantSession
from serve_app.services import auth as service

Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Password = Annotated[str, StringConstraints(max_length=1024)]
"""Upper bound only: the minimum length is a setting, checked with a clear message."""


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    role: Role
    tenant_id: uuid.UUID
    created_at: datetime


class NewUser(BaseModel):
    email: Email
    password: Password
    role: Role = Role.member


router = APIRouter(prefix="/users", tags=["users"])


@router.post("", status_code=201)
async def create_user(
    body: NewUser, admin: AdminUser, session: TenantSession, passwords: PasswordsDep
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
    return UserOut.model_validate(user)


@router.get("")
async def list_users(admin: AdminUser, session: TenantSession) -> list[UserOut]:
    """Every user of your tenant, oldest first (admins only)."""
    return [UserOut.model_validate(u) for u in await service.list_users(session, admin=admin)]
