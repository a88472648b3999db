"""Refresh-token families: each login starts one, each refresh rotates to a child in it.

Only sha256 hashes of tokens are stored. A token is found across tenants by its hash through
``fluently_find_refresh_token``; everything else happens in a tenant-scoped session.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import RefreshToken
from db.session import TenantId


@dataclass(frozen=True)
class RefreshTokenRef:
    """What ``fluently_find_refresh_token`` reveals: which row, tenant, user and family."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    family_id: uuid.UUID


async def issue(
    session: AsyncSession,
    *,
    tenant_id: TenantId,
    user_id: uuid.UUID,
    family_id: uuid.UUID,
    token_hash: str,
    expires_at: datetime,
) -> None:
    await session.execute(
        insert(RefreshToken).values(
            tenant_id=tenant_id,
            user_id=user_id,
            family_id=family_id,
            token_hash=token_hash,
            expires_at=expires_at,
        )
    )


async def find_by_hash(session: AsyncSession, *, token_hash: str) -> RefreshTokenRef | None:
    row = (
        await session.execute(
            text(
                "SELECT id, tenant_id, user_id, family_id "
                "FROM fluently_find_refresh_token(:token_hash)"
            ),
            {"token_hash": token_hash},
        )
    ).one_or_none()
    if row is None:
        return None
    return RefreshTokenRef(
        id=row.id, tenant_id=row.tenant_id, user_id=row.user_id, family_id=row.family_id
    )


async def lock(
    session: AsyncSession, *, tenant_id: TenantId, token_id: uuid.UUID
) -> RefreshToken | None:
    """Load a token FOR UPDATE, so two refreshes with the same token run one after the other."""
    result = await session.execute(
        select(RefreshToken)
        .where(RefreshToken.tenant_id == tenant_id, RefreshToken.id == token_id)
        .with_for_update()
    )
    return result.scalar_one_or_none()


async def rotate(
    session: AsyncSession,
    *,
    tenant_id: TenantId,
    token: RefreshToken,
    child_hash: str,
    expires_at: datetime,
) -> None:
    """Mark ``token`` used and add its successor to the same family."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.tenant_id == tenant_id, RefreshToken.id == token.id)
        .values(rotated_at=func.now())
    )
    await issue(
        session,
        tenant_id=tenant_id,
        user_id=token.user_id,
        family_id=token.family_id,
        token_hash=child_hash,
        expires_at=expires_at,
    )


async def revoke_family(
    session: AsyncSession, *, tenant_id: TenantId, family_id: uuid.UUID
) -> None:
    await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.tenant_id == tenant_id,
            RefreshToken.family_id == family_id,
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=func.now())
    )
