"""Keyset pagination, newest first: one page of a query ordered by (time, id), descending."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

Column = ColumnElement[Any] | InstrumentedAttribute[Any]


async def newest_first(
    session: AsyncSession,
    query: Select[Any],
    *,
    at: Column,
    ident: Column,
    before: tuple[datetime, uuid.UUID] | tuple[datetime, int] | None,
    limit: int,
) -> list[Any]:
    """Up to ``limit`` rows of ``query``, latest ``at`` first (``ident`` breaks ties);
    ``before`` is the (at, ident) of the previous page's last row."""
    if before is not None:
        query = query.where(tuple_(at, ident) < tuple_(*before))
    query = query.order_by(at.desc(), ident.desc()).limit(limit)
    return list((await session.execute(query)).scalars())
