"""``HEAD`` answers as ``GET`` would, without the content (``HeadAsGetMiddleware``), in-process;
through Serve's proxy: ``tests/test_http_hardening_platform.py``."""

from __future__ import annotations

import asyncio

import httpx

from db.session import Sessions
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
