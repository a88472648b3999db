"""Request bodies cross Serve's proxy and the Ingress replica with bounded memory.

Serve (2.60) carries an HTTP body from the client to the app through two queues that nothing
bounds: the proxy reads it from uvicorn into a ``MessageQueue`` as fast as the client sends
(``HTTPProxy.proxy_asgi_receive``), and the replica pulls whatever is queued there into an
``asyncio.Queue`` as fast as the proxy answers (``ASGIReceiveProxy.fetch_until_disconnect``).
Neither waits for the app, so the part of a 200 MB upload the app has not yet hashed and
written sat in both processes: up to 140 MB each (benchmarks/README.md, ``memory.py``).

Here each queue holds about ``BODY_BUFFER_BYTES`` of body before its producer waits. The proxy
then stops calling uvicorn's ``receive``, uvicorn stops reading the socket once 64 KiB wait
(its flow control) and the client's TCP window closes; the replica asks the proxy for more only
when the app has taken its queue below the bound, and gets at most ``ANSWER_BODY_BYTES`` per
call, small enough to stay out of Ray's shared object store. A body that fits under the bound
(every request but an upload) never waits, so the proxy still notices a client that hangs up;
while an upload waits on the app, a client that hangs up is noticed once the app reads on.

The price is a call per 64 KiB: on the 2-core VM a 200 MB upload crosses Serve in 6-7 s
instead of 2-3 s, still far more than a clinic's uplink carries.

Installed by replacing the class each process instantiates, ``MessageQueue`` in
``ray.serve._private.proxy`` (from the proxy callback, ``serve_app.proxy.proxy_middlewares``)
and ``ASGIReceiveProxy`` in ``ray.serve._private.replica`` (from the Ingress constructor), after
checking that Serve's code still has the shape relied on here. If it does not, the proxy or the
replica fails to start with ``ServeInternalsChanged`` instead of quietly buffering again.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

from ray.serve._private import http_util
from ray.serve._private.common import RequestMetadata
from ray.serve._private.http_util import ASGIReceiveProxy, MessageQueue
from starlette.types import Message, Scope

BODY_BUFFER_BYTES = 2 * 1024 * 1024
"""Body bytes a queue holds before its producer waits: twice the batches the app hashes and
writes at a time (``serve_app.uploads``), so the next one is there when a batch is done."""
ANSWER_BODY_BYTES = 64 * 1024
"""Body bytes the proxy hands the replica per call. Under Ray's ``max_direct_call_object_size``
(100 KiB) an answer travels inside the call's reply; a larger one goes through the node's
shared object store, and the store's pages each answer touches count in the resident memory of
both processes: in answers of 2 MiB a 96 MB upload still grew each by about 100 MB, of which
6-10 MB private. Ray's limit stays at its default: raised to 2 MiB for the proxy
(``RAY_max_direct_call_object_size``), answers of 1 MiB crossed 200 MB in 2 s instead of 6-7 s
but grew the Ingress by 25 MB."""


class ServeInternalsChanged(RuntimeError):
    """The Ray Serve code patched here no longer looks as it did in Ray 2.60."""


def body_bytes(item: object) -> int:
    """Bytes of HTTP body in a queued ASGI message; nothing else a queue holds counts."""
    if isinstance(item, dict):
        body = item.get("body", b"")
        return len(body) if isinstance(body, bytes) else 0
    return 0


class BoundedMessageQueue(MessageQueue):
    """The proxy's queue of request messages for one request: sending a message waits while
    ``limit`` bytes of body or more wait in it, until the replica takes them or it closes.
    The replica gets at most ``answer_bytes`` of body per call (a message at least), bodies
    being split to fit."""

    def __init__(
        self, limit: int = BODY_BUFFER_BYTES, answer_bytes: int = ANSWER_BODY_BYTES
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._limit = limit
        self._answer_bytes = answer_bytes
        self._pending_bytes = 0
        self._taken = asyncio.Event()

    @property
    def pending_bytes(self) -> int:
        return self._pending_bytes

    def put_nowait(self, message: Message) -> None:
        for piece in split_body(message, self._answer_bytes):
            super().put_nowait(piece)
            self._pending_bytes += body_bytes(piece)

    async def __call__(self, message: Message) -> None:
        await super().__call__(message)
        while self._pending_bytes >= self._limit and not self._closed:
            self._taken.clear()
            await self._taken.wait()

    def get_messages_nowait(self) -> list[Message]:
        messages: list[Message] = []
        answer = 0
        queued = self._message_queue
        while queued and (not messages or answer + body_bytes(queued[0]) <= self._answer_bytes):
            messages.append(queued.popleft())
            answer += body_bytes(messages[-1])
        if not queued:
            # What is left stays announced, so the replica's next call returns at once.
            self._new_message_event.clear()
        self._pending_bytes -= answer
        self._taken.set()
        return messages

    def close(self) -> None:
        super().close()  # type: ignore[no-untyped-call]
        self._taken.set()


def split_body(message: Message, size: int) -> list[Message]:
    """``message`` as messages of at most ``size`` bytes of body, in order, ``more_body`` on
    all but the last (which keeps the original's)."""
    body = message.get("body", b"")
    if message["type"] != "http.request" or len(body) <= size:
        return [message]
    pieces: list[Message] = [
        {**message, "body": body[i : i + size], "more_body": True}
        for i in range(0, len(body), size)
    ]
    pieces[-1]["more_body"] = message.get("more_body", False)
    return pieces


class BodyBuffer(asyncio.Queue[Any]):
    """The replica's queue of request messages (and a fetch error, which Serve queues too),
    counting the body bytes in it; ``room()`` returns once fewer than ``limit`` wait."""

    def __init__(self, limit: int = BODY_BUFFER_BYTES) -> None:
        super().__init__()
        self._limit = limit
        self.body_bytes = 0
        self._room = asyncio.Event()
        self._room.set()

    def _put(self, item: Any) -> None:
        super()._put(item)
        self.body_bytes += body_bytes(item)
        if self.body_bytes >= self._limit:
            self._room.clear()

    def _get(self) -> Any:
        item = super()._get()
        self.body_bytes -= body_bytes(item)
        if self.body_bytes < self._limit:
            self._room.set()
        return item

    async def room(self) -> None:
        await self._room.wait()


class BoundedASGIReceiveProxy(ASGIReceiveProxy):
    """The replica's ``receive`` for one request: Serve's own, except that it asks the proxy
    for more messages only when its queue has room."""

    def __init__(
        self,
        scope: Scope,
        request_metadata: RequestMetadata,
        receive_asgi_messages: Callable[[RequestMetadata], Awaitable[bytes]],
        limit: int = BODY_BUFFER_BYTES,
    ) -> None:
        async def receive_when_room(metadata: RequestMetadata) -> bytes:
            await self.queue.room()
            return await receive_asgi_messages(metadata)

        super().__init__(scope, request_metadata, receive_when_room)
        self._limit = limit

    @property
    def queue(self) -> BodyBuffer:
        # Made on first use, as Serve's is, so that it belongs to the user code's event loop.
        if self._queue is None:
            self._queue = BodyBuffer(self._limit)
        assert isinstance(self._queue, BodyBuffer)
        return self._queue


def install_in_proxy() -> None:
    """Serve's proxy, in this process, queues at most ``BODY_BUFFER_BYTES`` of each body."""
    from ray.serve._private import proxy

    if _replaced(proxy, "MessageQueue", MessageQueue, BoundedMessageQueue):
        return
    _require_source(proxy.HTTPProxy.send_request_to_replica, "receive_queue = MessageQueue()")
    _require_source(proxy.HTTPProxy.proxy_asgi_receive, "await queue(msg)")
    _require_source(proxy.HTTPProxy.receive_asgi_messages, "return queue.get_messages_nowait()")
    _require_source(MessageQueue.__init__, "self._message_queue = deque()")
    _require_source(MessageQueue.__init__, "self._closed = False")
    _require_source(MessageQueue.__call__, "self.put_nowait(message)")
    _require_source(MessageQueue.wait_for_message, "await self._new_message_event.wait()")
    vars(proxy)["MessageQueue"] = BoundedMessageQueue


def install_in_replica() -> None:
    """Serve's replica, in this process, asks the proxy for more of a body only when fewer
    than ``BODY_BUFFER_BYTES`` of it wait for the app."""
    from ray.serve._private import replica

    if _replaced(replica, "ASGIReceiveProxy", ASGIReceiveProxy, BoundedASGIReceiveProxy):
        return
    _require_source(replica, "receive = ASGIReceiveProxy(")
    parameters = list(inspect.signature(ASGIReceiveProxy.__init__).parameters)
    _require(
        parameters == ["self", "scope", "request_metadata", "receive_asgi_messages"],
        f"ASGIReceiveProxy.__init__ takes (scope, request_metadata, receive_asgi_messages), "
        f"not {parameters[1:]}",
    )
    _require_source(ASGIReceiveProxy.__init__, "self._queue: Optional[asyncio.Queue] = None")
    _require_source(ASGIReceiveProxy.fetch_until_disconnect, "await self._receive_asgi_messages(")
    _require_source(ASGIReceiveProxy.fetch_until_disconnect, "self.queue.put_nowait(message)")
    _require_source(ASGIReceiveProxy.__call__, "await self.queue.get()")
    vars(replica)["ASGIReceiveProxy"] = BoundedASGIReceiveProxy


def _replaced(module: ModuleType, name: str, original: type, replacement: type) -> bool:
    """Whether ``module.name`` is already ``replacement``; if it is neither that nor
    ``original``, ``ServeInternalsChanged``."""
    current = vars(module).get(name)
    _require(
        current in (original, replacement),
        f"{module.__name__}.{name} to be {original.__module__}.{original.__qualname__}",
    )
    return current is replacement


def _require_source(code: Callable[..., Any] | ModuleType, fragment: str) -> None:
    name = getattr(code, "__qualname__", getattr(code, "__name__", repr(code)))
    _require(fragment in inspect.getsource(code), f"{name} contains {fragment!r}")


def _require(holds: bool, what: str) -> None:
    if not holds:
        raise ServeInternalsChanged(
            f"Ray Serve changed where serve_app.receive_buffers bounds request bodies "
            f"({http_util.__file__}): expected {what}. Check the patch against this Ray and "
            f"adjust it before running this version."
        )
