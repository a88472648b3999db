"""Unknown query parameters: 422 naming them, on every kind of route but the OpenAI ones."""

from __future__ import annotations

import httpx
import pytest

from tests.support import error_code, sign_up


@pytest.mark.parametrize(
    "path",
    [
        "/audio_recordings?limt=5",
        "/audio_recordings?limit=5&=x",
        "/auth/me?debug=1",
        "/clients?cursor=&sort=name",
        "/healthz?verbose",
    ],
)
async def test_an_unknown_query_parameter_is_refused(client: httpx.AsyncClient, path: str) -> None:
    account = await sign_up(client)
    response = await client.get(path, headers=account.auth)
    assert response.status_code == 422, response.text
    assert error_code(response) == "unknown_query_parameter"


async def test_declared_parameters_and_their_dependencies_are_accepted(
    client: httpx.AsyncClient,
) -> None:
    account = await sign_up(client)
    response = await client.get("/audio_recordings?limit=5", headers=account.auth)
    assert response.status_code == 200, response.text
    assert (await client.get("/v1/models?api-version=2024-06-01")).status_code != 422
