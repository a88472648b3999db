"""Readiness: the database answers and its schema is at the code's migration head."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from db.health import database_status


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checks: dict[str, str]
    """Each check's outcome: ``ok``, or what is wrong."""


async def readiness(engine: AsyncEngine) -> Readiness:
    status = await database_status(engine)
    checks = {"database": "ok" if status.answered else f"unreachable: {status.failure}"}
    if status.at_head is not None:
        checks["migrations"] = "ok" if status.at_head else "behind"
    ready = all(v == "ok" for v in checks.values()) and "migrations" in checks
    return Readiness(ready=ready, checks=checks)
