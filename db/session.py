"""Engines and the one place that opens tenant-scoped transactions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NewType

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from fluently.logging import tenant_id_var

TenantId = NewType("TenantId", uuid.UUID)
"""A tenant the caller has proven access to; only the auth layer and job claims make one."""

Sessions = async_sessionmaker[AsyncSession]


def libpq_url(url: str) -> str:
    """The same URL without SQLAlchemy's driver suffix, for direct psycopg connections."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def make_engine(url: str, *, pool_size: int = 5) -> AsyncEngine:
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800
    )


def make_sessions(engine: AsyncEngine) -> Sessions:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def tenant_session(sessions: Sessions, tenant_id: TenantId) -> AsyncIterator[AsyncSession]:
    """A transaction in which Row-Level Security shows only ``tenant_id``'s rows.

    ``set_config(..., true)`` is local to the transaction, so a pooled connection never carries
    a tenant into the next checkout. Commits on success, rolls back on error.
    """
    token = tenant_id_var.set(str(tenant_id))
    try:
        async with sessions() as session, session.begin():
            await session.execute(select(func.set_config("app.tenant_id", str(tenant_id), True)))
            yield session
    finally:
        tenant_id_var.reset(token)


@asynccontextmanager
async def system_session(sessions: Sessions) -> AsyncIterator[AsyncSession]:
    """A transaction with no tenant set: tenant tables show nothing and refuse writes.

    Used for what is not tenant data (rate limits) and the SECURITY DEFINER lookups that
    find which tenant a login, a refresh token or a queued job belongs to.
    """
    async with sessions() as session, session.begin():
        yield session
