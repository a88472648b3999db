"""A replica that dies mid-request is a 503 with ``Retry-After``, never a 500.

Two places answer for it: the Ingress, when a deployment handle it calls raises Ray's
actor-died error (in-process, with a handle that raises what Ray raises), and the callback that
wraps Serve's proxy, when the Ingress replica itself dies and the proxy is left with no answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from ray.exceptions import ActorDiedError
from starlette.types import Receive, Scope, Send

from fluently.settings import Settings
from serve_app.app import create_app
from serve_app.proxy import UnavailableUpstream
from tests.support import FIXTURES, client_of, signup, upload


class _DiedMethod:
    async def remote(self, *args: Any, **kwargs: Any) -> Any:
        raise ActorDiedError()


class DeadTranscriber:
    """The ``LocalTranscriber`` handle while the replica it picked has just been killed."""

    def __getattr__(self, name: str) -> _DiedMethod:
        return _DiedMethod()


@pytest.fixture(scope="module")
async def app_with_dead_transcriber(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings, transcriber=DeadTranscriber())
    async with app.router.lifespan_context(app):
        yield app


def assert_retry_later(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "upstream_unavailable"


class TestADeadDeploymentBehindTheIngress:
    async def test_the_model_list_says_retry_later(
        self, app_with_dead_transcriber: FastAPI
    ) -> None:
        async with client_of(app_with_dead_transcriber) as client:
            headers = await signup(client)
            response = await client.get("/v1/models", headers=headers)
        assert_retry_later(response)

    async def test_an_upload_whose_language_check_meets_it_says_retry_later(
        self, app_with_dead_transcriber: FastAPI
    ) -> None:
        """Only the local model is asked about a language no remote backend declares."""
        async with client_of(app_with_dead_transcriber) as client:
            headers = await signup(client)
            response = await upload(client, headers, FIXTURES / "jfk.mp3", language="pt")
            assert_retry_later(response)
            listed = await client.get("/audio_recordings", headers=headers)
        assert listed.json()["items"] == []


def _answers(status: int, headers: list[tuple[bytes, bytes]]) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    return app


async def _dead_replica(scope: Scope, receive: Receive, send: Send) -> None:
    """What Serve's proxy does when the Ingress replica dies: logs it and sends nothing."""


async def through_proxy(app: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=UnavailableUpstream(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
        return await client.get("/audio_recordings/x")


class TestServesProxyCallback:
    async def test_no_answer_from_a_dead_ingress_replica_is_503_with_retry_after(self) -> None:
        assert_retry_later(await through_proxy(_dead_replica))

    async def test_the_proxys_own_503_gains_retry_after(self) -> None:
        response = await through_proxy(_answers(503, []))
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"

    async def test_an_answer_passes_unchanged(self) -> None:
        response = await through_proxy(_answers(200, [(b"etag", b'"v1"')]))
        assert (response.status_code, response.headers["ETag"]) == (200, '"v1"')
        assert "Retry-After" not in response.headers
