"""Live recording events: one LISTEN connection per ingress replica, fanned out to SSE clients.

The pipeline's updates fire a trigger that NOTIFYs ``fluently_recordings`` with the recording id
(and nothing else), so a client is told whichever replica holds its connection. Each client then
re-reads its recording through its own tenant-scoped session.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict

from db.notifications import notifications
from db.repositories.recordings import CHANNEL
from fluently.logging import get_logger

log = get_logger("events")


class RecordingEvents:
    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._subscribers: defaultdict[uuid.UUID, set[asyncio.Queue[None]]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, recording_id: uuid.UUID) -> asyncio.Queue[None]:
        queue: asyncio.Queue[None] = asyncio.Queue(maxsize=1)
        self._subscribers[recording_id].add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen())
        return queue

    def unsubscribe(self, recording_id: uuid.UUID, queue: asyncio.Queue[None]) -> None:
        queues = self._subscribers.get(recording_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[recording_id]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _wake(self, recording_id: uuid.UUID) -> None:
        for queue in self._subscribers.get(recording_id, ()):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)

    async def _listen(self) -> None:
        async for payload in notifications(
            self._conninfo,
            CHANNEL,
            log=log,
            lost_message="event listener lost its connection; reconnecting",
            keep_listening=lambda: bool(self._subscribers),
        ):
            if payload is None:
                # Anything missed while (re)connecting: let every client re-read.
                for recording_id in list(self._subscribers):
                    self._wake(recording_id)
                continue
            with contextlib.suppress(ValueError):
                self._wake(uuid.UUID(payload))
