"""The bounds on the request body that Serve's proxy and an Ingress replica hold
(``serve_app.receive_buffers``), without Ray: the proxy stops reading a body while the
replica has not taken what it queued, the replica stops asking while the app has not read what
it holds, and both are installed only on the Serve code they were written against.

Whether the whole path holds a large upload's memory down, through a real proxy and replica, is
``tests/test_upload_hardening.py::TestThroughServe``.
"""

from __future__ import annotations

import asyncio
import pickle
from typing import Any, cast

import pytest
from ray.serve._private import http_util, proxy, replica
from ray.serve._private.common import RequestMetadata

from serve_app.receive_buffers import (
    BoundedASGIReceiveProxy,
    BoundedMessageQueue,
    ServeInternalsChanged,
    install_in_proxy,
    install_in_replica,
)

LIMIT = 1000
PIECE = 400
SCOPE = {"type": "http"}
NO_METADATA = cast(RequestMetadata, None)


def body(index: int, *, more: bool = True) -> dict[str, Any]:
    return {"type": "http.request", "body": bytes([index]) * PIECE, "more_body": more}


async def settle() -> None:
    """Let every task that can run, run."""
    for _ in range(20):
        await asyncio.sleep(0)


class TestTheProxysQueue:
    async def test_the_client_is_read_no_further_while_the_replica_has_not_taken_the_body(
        self,
    ) -> None:
        queue = BoundedMessageQueue(limit=LIMIT)
        sent: list[int] = []

        async def client() -> None:
            for i in range(10):
                await queue(body(i, more=i < 9))
                sent.append(i)

        sending = asyncio.create_task(client())
        await settle()
        assert sent == [0, 1]
        assert queue.pending_bytes == 3 * PIECE

        taken = queue.get_messages_nowait()
        while not sending.done():
            await settle()
            assert queue.pending_bytes < LIMIT + PIECE
            taken += queue.get_messages_nowait()
        assert [message["body"][0] for message in taken] == list(range(10))
        assert queue.pending_bytes == 0

    async def test_the_replica_gets_the_body_in_answers_small_enough_to_skip_the_object_store(
        self,
    ) -> None:
        queue = BoundedMessageQueue(limit=LIMIT, answer_bytes=300)
        sent = [body(0), {"type": "http.request", "body": b"abcdefgh" * 100, "more_body": False}]
        sending = asyncio.gather(*(queue(message) for message in sent))
        answers = []
        while not sending.done() or queue.pending_bytes:
            await queue.wait_for_message()
            answers.append(queue.get_messages_nowait())
            await settle()
        messages = [message for answer in answers for message in answer]
        assert all(sum(len(m["body"]) for m in answer) <= 300 for answer in answers)
        assert b"".join(m["body"] for m in messages) == b"".join(m["body"] for m in sent)
        assert [m["more_body"] for m in messages] == [True] * (len(messages) - 1) + [False]

    async def test_a_request_without_a_large_body_never_waits(self) -> None:
        queue = BoundedMessageQueue(limit=LIMIT)
        await asyncio.wait_for(queue({"type": "http.request", "body": b"{}"}), 1)
        await asyncio.wait_for(queue({"type": "http.disconnect"}), 1)
        assert len(queue.get_messages_nowait()) == 2

    async def test_a_waiting_read_ends_when_the_request_does(self) -> None:
        queue = BoundedMessageQueue(limit=LIMIT)
        sending = asyncio.create_task(queue(body(0) | {"body": b"x" * LIMIT}))
        await settle()
        assert not sending.done()
        queue.close()
        await asyncio.wait_for(sending, 1)


class FakeProxy:
    """``ProxyActor.receive_asgi_messages`` for one request of ``pieces`` body messages,
    answering ``per_answer`` of them at a time, then the client's disconnect."""

    def __init__(self, pieces: int, per_answer: int) -> None:
        self.messages = [body(i, more=i < pieces - 1) for i in range(pieces)]
        self.messages.append({"type": "http.disconnect"})
        self.per_answer = per_answer
        self.answers = 0

    async def receive_asgi_messages(self, metadata: RequestMetadata) -> bytes:
        batch, self.messages = self.messages[: self.per_answer], self.messages[self.per_answer :]
        self.answers += 1
        return pickle.dumps(batch)


def fetching_from(
    fake: FakeProxy,
) -> tuple[BoundedASGIReceiveProxy, asyncio.Task[Any]]:
    """The replica's bounded ``receive`` for one request, fetching from ``fake`` in a task."""
    receive = BoundedASGIReceiveProxy(SCOPE, NO_METADATA, fake.receive_asgi_messages, limit=LIMIT)
    return receive, asyncio.create_task(receive.fetch_until_disconnect())


class TestTheReplicasReceive:
    async def test_the_proxy_is_asked_for_more_only_once_the_app_has_read_below_the_bound(
        self,
    ) -> None:
        fake = FakeProxy(pieces=12, per_answer=2)
        receive, fetching = fetching_from(fake)
        await settle()
        assert fake.answers == 2
        assert receive.queue.body_bytes == 4 * PIECE

        read = []
        while True:
            message = await asyncio.wait_for(receive(), 1)
            if message["type"] == "http.disconnect":
                break
            read.append(message["body"][0])
            await settle()
            assert receive.queue.body_bytes < LIMIT + 2 * PIECE
        assert read == list(range(12))
        await asyncio.wait_for(fetching, 1)
        assert fake.answers == 7

    async def test_a_request_that_ends_while_the_replica_waits_ends_its_fetching(self) -> None:
        fake = FakeProxy(pieces=12, per_answer=4)
        _, fetching = fetching_from(fake)
        await settle()
        assert fake.answers == 1
        fetching.cancel()
        with pytest.raises(asyncio.CancelledError):
            await fetching


class TestInstalling:
    @pytest.fixture(autouse=True)
    def restored(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Whatever a test installs is undone after it."""
        monkeypatch.setattr(proxy, "MessageQueue", proxy.MessageQueue)
        monkeypatch.setattr(replica, "ASGIReceiveProxy", replica.ASGIReceiveProxy)

    def test_on_this_ray_both_bounds_install_once(self) -> None:
        for _ in range(2):
            install_in_proxy()
            install_in_replica()
        assert proxy.MessageQueue is BoundedMessageQueue
        assert replica.ASGIReceiveProxy is BoundedASGIReceiveProxy
        assert http_util.MessageQueue is not BoundedMessageQueue

    def test_a_proxy_that_makes_its_queue_elsewhere_refuses_to_start(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(proxy, "MessageQueue", type("MessageQueue", (), {}))
        with pytest.raises(ServeInternalsChanged, match=r"proxy\.MessageQueue"):
            install_in_proxy()

    def test_a_replica_that_fetches_differently_refuses_to_start(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def fetch_everything(self: Any) -> None:
            """A Serve that no longer calls ``_receive_asgi_messages`` to fetch."""

        monkeypatch.setattr(http_util.ASGIReceiveProxy, "fetch_until_disconnect", fetch_everything)
        with pytest.raises(ServeInternalsChanged, match="_receive_asgi_messages"):
            install_in_replica()
        assert replica.ASGIReceiveProxy is http_util.ASGIReceiveProxy
