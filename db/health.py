"""Whether the database answers, and whether its schema is the one this code was written for."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.migrate import is_at_head


@dataclass(frozen=True, slots=True)
class DatabaseStatus:
    answered: bool
    """A query ran."""
    at_head: bool | None
    """Whether the applied migrations are the code's heads; None when that could not be read."""
    failure: str | None
    """The type name of the error that stopped the check, if one did."""


async def database_status(engine: AsyncEngine) -> DatabaseStatus:
    """Never raises: any failure to reach or read the database is reported in the result."""
    answered, at_head, failure = False, None, None
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            answered = True
            at_head = await conn.run_sync(is_at_head)
    except Exception as exc:  # any failure to reach the database means not ready
        failure = type(exc).__name__
    return DatabaseStatus(answered=answered, at_head=at_head, failure=failure)
