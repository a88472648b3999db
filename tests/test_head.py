"""``HEAD`` answers as ``GET`` would, without the content (``HeadAsGetMiddleware``), in-process;
through Serve's proxy: ``tests/test_http_hardening_platform.py``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.session import Sessions
from serve_app.middleware import HeadAsGetMiddleware
from tests.processed import seed_pending, seed_processed
from tests.support import sign_up


async def test_health_answers_head_with_get_s_headers_and_no_content(
    visitor: httpx.AsyncClient,
) -> None:
    got, head = await visitor.get("/healthz"), await visitor.head("/healthz")
    assert got.status_code == head.status_code == 200
    assert got.content and not head.content
    for name in ("content-type", "content-length", "x-content-type-options"):
        assert head.headers[name] == got.headers[name], name


async def test_a_recording_answers_head_with_its_etag_and_304_when_unchanged(
    visitor: httpx.AsyncClient, sessions: Sessions
) -> None:
    """A processed recording seeded with no job, so nothing changes it between the requests
    (in the full suite a running platform's dispatcher would process an upload)."""
    account = await sign_up(visitor)
    path = f"/audio_recordings/{await seed_processed(sessions, account)}"
    got = await visitor.get(path, headers=account.auth)
    head = await visitor.head(path, headers=account.auth)
    assert head.status_code == 200 and not head.content
    assert head.headers["etag"] == got.headers["etag"]
    unchanged = {**account.auth, "if-none-match": got.headers["etag"]}
    assert (await visitor.head(path, headers=unchanged)).status_code == 304
    assert (await visitor.head(path)).status_code == 401  # signed in, as for GET


async def test_an_event_stream_answers_head_and_ends(
    visitor: httpx.AsyncClient, sessions: Sessions
) -> None:
    """A recording that stays pending (seeded with no job): its stream would run on; the
    answer to ``HEAD`` ends after the headers, and the stream stops when the client goes."""
    account = await sign_up(visitor)
    path = f"/audio_recordings/{await seed_pending(sessions, account)}/events"
    head = await asyncio.wait_for(visitor.head(path, headers=account.auth), timeout=30)
    assert head.status_code == 200 and not head.content
    assert head.headers["content-type"].startswith("text/event-stream")


async def test_head_is_refused_where_get_is(visitor: httpx.AsyncClient) -> None:
    response = await visitor.head("/auth/login")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert (await visitor.head("/no/such/page/api")).status_code == 404


def _streaming_app(produced: list[int], closed: asyncio.Event) -> Starlette:
    """Two routes that would each send 1,000 pieces: bytes, and Server-Sent Events."""

    async def pieces() -> AsyncIterator[bytes]:
        try:
            for n in range(1000):
                produced.append(n)
                yield b"x" * 65536
                await asyncio.sleep(0)
        finally:
            closed.set()

    async def events() -> AsyncIterator[dict[str, str]]:
        try:
            for n in range(1000):
                produced.append(n)
                yield {"event": "status", "data": str(n)}
                await asyncio.sleep(0.01)
        finally:
            closed.set()

    async def file(request: Request) -> StreamingResponse:
        return StreamingResponse(pieces(), headers={"Content-Length": str(1000 * 65536)})

    async def stream(request: Request) -> EventSourceResponse:
        return EventSourceResponse(events())

    app = Starlette(routes=[Route("/file", file), Route("/events", stream)])
    app.add_middleware(HeadAsGetMiddleware)
    return app


def _as_under_serve(app: ASGIApp) -> ASGIApp:
    """``app`` as Serve's proxy runs it: ASGI spec 2.4 (uvicorn's, so Starlette streams
    without listening for a disconnect), and no ``http.disconnect`` once the answer ends, only
    when the client's kept-alive connection closes (here: never). httpx's in-process transport
    reports one as soon as the answer ends, which would stop any stream by itself."""

    async def shim(scope: Scope, receive: Receive, send: Send) -> None:
        request = await receive()
        given = False

        async def the_request_then_silence() -> Message:
            nonlocal given
            if not given:
                given = True
                return request
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

        await app(
            {**scope, "asgi": {"version": "3.0", "spec_version": "2.4"}},
            the_request_then_silence,
            send,
        )

    return shim


@pytest.mark.parametrize("path", ["/file", "/events"])
async def test_head_stops_a_streamed_answer_after_its_headers(path: str) -> None:
    """The route is stopped at its first piece: a ``HEAD`` of a recording's audio or a client's
    export read the whole file or built the whole zip to throw it away, and one of an event
    stream kept polling the database until the client's connection closed."""
    produced: list[int] = []
    closed = asyncio.Event()
    transport = httpx.ASGITransport(app=_as_under_serve(_streaming_app(produced, closed)))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        head = await asyncio.wait_for(client.head(path), timeout=30)
        assert head.status_code == 200 and not head.content
        await asyncio.wait_for(closed.wait(), timeout=5)
        assert len(produced) <= 1, len(produced)
        got = await client.get("/file")
        assert len(got.content) == 1000 * 65536  # GET is untouched
