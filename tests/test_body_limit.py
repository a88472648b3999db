"""A body longer than its route takes is refused before the route reads it
(``serve_app.body_limit``), in-process; through Serve's proxy:
``tests/test_http_hardening_platform.py``."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from serve_app.body_limit import JSON_BODY_BYTES
from serve_app.routes.annotations import ANNOTATION_BODY_BYTES
from tests.support import FIXTURES, PASSWORD, error_code, fresh_email, signup, upload


def signup_body(email: str, padding: int) -> bytes:
    """A sign-up whose tenant name is ``padding`` characters long."""
    return json.dumps({"tenant_name": "x" * padding, "email": email, "password": PASSWORD}).encode()


async def in_pieces(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """``body`` as httpx sends a generator: chunked, with no ``Content-Length``."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def refused_and_nothing_made(
    visitor: httpx.AsyncClient, response: httpx.Response, email: str
) -> None:
    assert response.status_code == 413, response.text
    assert error_code(response) == "body_too_large"
    assert str(JSON_BODY_BYTES) in response.json()["error"]["message"]
    login = await visitor.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 401, login.text


async def test_a_declared_body_over_the_bound_is_refused_unread(visitor: httpx.AsyncClient) -> None:
    email = fresh_email()
    response = await visitor.post(
        "/auth/signup",
        content=signup_body(email, 2 * JSON_BODY_BYTES),
        headers={"content-type": "application/json"},
    )
    await refused_and_nothing_made(visitor, response, email)


async def test_a_chunked_body_is_refused_once_past_the_bound(visitor: httpx.AsyncClient) -> None:
    email = fresh_email()
    response = await visitor.post(
        "/auth/signup",
        content=in_pieces(signup_body(email, 2 * JSON_BODY_BYTES)),
        headers={"content-type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    await refused_and_nothing_made(visitor, response, email)


async def test_a_chunked_body_under_the_bound_reaches_the_route_whole(
    visitor: httpx.AsyncClient,
) -> None:
    """What the bound reads to count a chunked body is handed on to the route unchanged."""
    email = fresh_email()
    response = await visitor.post(
        "/auth/signup",
        content=in_pieces(signup_body(email, 150), size=16),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["user"]["email"] == email


@pytest.mark.parametrize("size", [JSON_BODY_BYTES, JSON_BODY_BYTES + 1])
async def test_the_bound_is_the_body_s_length(visitor: httpx.AsyncClient, size: int) -> None:
    """A sign-up padded with whitespace (valid JSON) to the bound is read; a byte more is not."""
    body = signup_body(fresh_email(), 10)
    body += b" " * (size - len(body))
    response = await visitor.post(
        "/auth/signup", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == (413 if size > JSON_BODY_BYTES else 201), response.text


async def test_an_annotation_may_be_longer_than_other_bodies(visitor: httpx.AsyncClient) -> None:
    """A review of a long recording runs to megabytes: it passes the bound (here it gets
    the route's own answers), and past ``ANNOTATION_BODY_BYTES`` it does not."""
    headers = await signup(visitor)
    path = f"/audio_recordings/{uuid.uuid4()}/annotation"
    words = [{"word": "word", "start": 0.0, "end": 0.1, "probability": 0.9}] * 20_000
    segment = {"start": 0, "end": 1, "text": "w", "words": words}
    body = json.dumps({"segments": [segment, segment], "events": []})
    assert JSON_BODY_BYTES < len(body) < ANNOTATION_BODY_BYTES
    response = await visitor.put(
        path,
        content=body,
        headers={**headers, "content-type": "application/json", "if-match": '"1"'},
    )
    assert response.status_code == 404, response.text
    too_long = b" " * (ANNOTATION_BODY_BYTES + 1)
    response = await visitor.put(
        path, content=too_long, headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 413 and error_code(response) == "body_too_large"


async def test_uploads_are_bounded_by_the_upload_limit_not_this_one(
    visitor: httpx.AsyncClient,
) -> None:
    headers = await signup(visitor)
    path = FIXTURES / "speech_10min.opus"
    assert path.stat().st_size > JSON_BODY_BYTES
    response = await upload(visitor, headers, path)
    assert response.status_code == 202, response.text
