"""Sliding-window rate limits as a log of hits in Postgres, shared by every replica.

Not tenant data: keys name a client IP or a hashed account, so these run in a system session.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_PRUNE_BATCH = 100
"""Expired hits removed per recorded hit: more than one, so the log drains while in use."""


async def lock_keys(session: AsyncSession, *, keys: Iterable[str]) -> None:
    """Serialise checks of the same keys across replicas until the transaction ends.

    Keys are locked in sorted order so two requests sharing keys cannot deadlock.
    """
    for key in sorted(set(keys)):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
        )


async def retry_after_s(
    session: AsyncSession, *, key: str, limit: int, window_s: int
) -> int | None:
    """Seconds until ``key`` may be hit again, or None while it is under ``limit``.

    The ``limit``-th newest hit in the window is the one that has to age out first.
    """
    value = await session.scalar(
        text(
            "SELECT GREATEST(1, ceil(extract(epoch FROM "
            "    at + make_interval(secs => :window) - now())))::int "
            "FROM rate_limit_hits "
            "WHERE key = :key AND at > now() - make_interval(secs => :window) "
            "ORDER BY at DESC OFFSET :offset LIMIT 1"
        ),
        {"key": key, "window": window_s, "offset": limit - 1},
    )
    return None if value is None else int(value)


async def hits_in_window(session: AsyncSession, *, key: str, window_s: int) -> int:
    """How many hits ``key`` has in the window."""
    value = await session.scalar(
        text(
            "SELECT count(*) FROM rate_limit_hits "
            "WHERE key = :key AND at > now() - make_interval(secs => :window)"
        ),
        {"key": key, "window": window_s},
    )
    return int(value or 0)


async def record(session: AsyncSession, *, keys: Iterable[str], window_s: int) -> dict[str, int]:
    """Log one hit per key and drop a batch of the oldest hits that left the window.

    Returns each key's new hit id, for ``forget``.
    """
    ids: dict[str, int] = {}
    for key in keys:
        inserted = await session.execute(
            text("INSERT INTO rate_limit_hits (key) VALUES (:key) RETURNING id"), {"key": key}
        )
        ids[key] = int(inserted.scalar_one())
    # Ids grow with time, so the oldest rows by primary key are the expired ones; this reads a
    # bounded slice of the index instead of scanning the table.
    await session.execute(
        text(
            "DELETE FROM rate_limit_hits WHERE id IN ("
            "    SELECT id FROM rate_limit_hits ORDER BY id LIMIT :batch"
            ") AND at <= now() - make_interval(secs => :window)"
        ),
        {"batch": _PRUNE_BATCH, "window": window_s},
    )
    return ids


async def forget(session: AsyncSession, *, hit_ids: Iterable[int], keys: Iterable[str]) -> None:
    """Remove the hits ``hit_ids`` and every hit of ``keys``: attempts that turned out not to
    count against a limit (a login that succeeded), and the failures it forgives."""
    await session.execute(
        text("DELETE FROM rate_limit_hits WHERE id = ANY(:ids) OR key = ANY(:keys)"),
        {"ids": list(hit_ids), "keys": list(keys)},
    )
