"""Tenants and their users; the login lookup is the one query that crosses tenants."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg.errors
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import EmailTaken
from db.models import Role, Tenant, User
from db.session import TenantId

_UNIQUE_EMAIL = "uq_users_email_lower"


@dataclass(frozen=True)
class LoginRecord:
    """What ``fluently_find_login`` reveals about an email: enough to check a password."""

    user_id: uuid.UUID
    tenant_id: uuid.UUID
    password_hash: str
    role: Role


async def create_tenant(session: AsyncSession, *, tenant_id: TenantId, name: str) -> Tenant:
    """Insert the tenant the session is scoped to (RLS checks ``id`` against it)."""
    result = await session.execute(insert(Tenant).values(id=tenant_id, name=name).returning(Tenant))
    return result.scalar_one()


async def create_user(
    session: AsyncSession, *, tenant_id: TenantId, email: str, password_hash: str, role: Role
) -> User:
    """Raises ``EmailTaken`` when the email is taken in any tenant (compared case-insensitively)."""
    statement = (
        insert(User)
        .values(tenant_id=tenant_id, email=email, password_hash=password_hash, role=role.value)
        .returning(User)
    )
    try:
        result = await session.execute(statement)
    except IntegrityError as e:
        if (
            isinstance(e.orig, psycopg.errors.UniqueViolation)
            and e.orig.diag.constraint_name == _UNIQUE_EMAIL
        ):
            raise EmailTaken(email) from e
        raise
    return result.scalar_one()


async def get_user(
    session: AsyncSession, *, tenant_id: TenantId, user_id: uuid.UUID
) -> User | None:
    result = await session.execute(
        select(User).where(User.tenant_id == tenant_id, User.id == user_id)
    )
    return result.scalar_one_or_none()


async def get_user_and_tenant(
    session: AsyncSession, *, tenant_id: TenantId, user_id: uuid.UUID
) -> tuple[User, Tenant] | None:
    result = await session.execute(
        select(User, Tenant)
        .join(Tenant, Tenant.id == User.tenant_id)
        .where(User.tenant_id == tenant_id, User.id == user_id)
    )
    row = result.one_or_none()
    return None if row is None else (row[0], row[1])


async def list_users(session: AsyncSession, *, tenant_id: TenantId) -> list[User]:
    result = await session.execute(
        select(User).where(User.tenant_id == tenant_id).order_by(User.created_at, User.id)
    )
    return list(result.scalars())


async def set_password_hash(
    session: AsyncSession, *, tenant_id: TenantId, user_id: uuid.UUID, password_hash: str
) -> None:
    await session.execute(
        update(User)
        .where(User.tenant_id == tenant_id, User.id == user_id)
        .values(password_hash=password_hash)
    )


async def find_login(session: AsyncSession, *, email: str) -> LoginRecord | None:
    """Look an email up across tenants through the SECURITY DEFINER ``fluently_find_login``."""
    row = (
        await session.execute(
            text("SELECT user_id, tenant_id, password_hash, role FROM fluently_find_login(:email)"),
            {"email": email},
        )
    ).one_or_none()
    if row is None:
        return None
    return LoginRecord(
        user_id=row.user_id,
        tenant_id=row.tenant_id,
        password_hash=row.password_hash,
        role=Role(row.role),
    )
