"""LISTEN on a Postgres channel as an async iterator that reconnects when its connection drops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import psycopg
from psycopg import sql


async def notifications(
    conninfo: str,
    channel: str,
    *,
    log: logging.Logger,
    lost_message: str,
    keep_listening: Callable[[], bool] = lambda: True,
    reconnect_s: float = 1.0,
) -> AsyncIterator[str | None]:
    """The payloads NOTIFYed on ``channel``, on a connection of its own to ``conninfo``.

    Yields ``None`` each time it starts listening, first and after every reconnect: what was
    sent while it was not listening is lost, so the caller re-reads whatever it watches. A lost
    connection is logged as ``lost_message`` on the caller's ``log`` and opened again after
    ``reconnect_s``, as long as ``keep_listening()`` still says so.
    """
    while keep_listening():
        try:
            async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                yield None
                async for notify in conn.notifies():
                    yield notify.payload
        except psycopg.OperationalError:
            log.warning(lost_message)
            await asyncio.sleep(reconnect_s)
