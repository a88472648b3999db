"""``HEAD`` answers as ``GET`` would, without the content (``HeadAsGetMiddleware``), in-process;
through Serve's proxy: ``tests/test_http_hardening_platform.py``."""

from __future__ import annotations

import asyncio

import httpx

from tests.support import FIXTURES, signup, upload


async def test_health_answers_head_with_get_s_headers_and_no_content(
    visitor: httpx.AsyncClient,
) -> None:
    got, head = await visitor.get("/healthz"), await visitor.head("/healthz")
    assert got.status_code == head.status_code == 200
    assert got.content and not head.content
    for name in ("content-type", "content-length", "x-content-type-options"):
        assert head.headers[name] == got.headers[name], name


async def test_a_recording_answers_head_with_its_etag_and_304_when_unchanged(
    visitor: httpx.AsyncClient,
) -> None:
    headers = await signup(visitor)
    accepted = await upload(visitor, headers, FIXTURES / "jfk.mp3")
    path = f"/audio_recordings/{accepted.json()['recording_id']}"
    got, head = await visitor.get(path, headers=headers), await visitor.head(path, headers=headers)
    assert head.status_code == 200 and not head.content
    assert head.headers["etag"] == got.headers["etag"]
    again = await visitor.head(path, headers={**headers, "if-none-match": got.headers["etag"]})
    assert again.status_code == 304
    assert (await visitor.head(path)).status_code == 401  # signed in, as for GET


async def test_an_event_stream_answers_head_and_ends(visitor: httpx.AsyncClient) -> None:
    """The recording stays pending here (no dispatcher in-process): its stream would run on;
    the answer to ``HEAD`` ends after the headers, and the stream stops when the client goes."""
    headers = await signup(visitor)
    accepted = await upload(visitor, headers, FIXTURES / "jfk.mp3")
    path = f"/audio_recordings/{accepted.json()['recording_id']}/events"
    head = await asyncio.wait_for(visitor.head(path, headers=headers), timeout=30)
    assert head.status_code == 200 and not head.content
    assert head.headers["content-type"].startswith("text/event-stream")


async def test_head_is_refused_where_get_is(visitor: httpx.AsyncClient) -> None:
    response = await visitor.head("/auth/login")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert (await visitor.head("/no/such/page/api")).status_code == 404
