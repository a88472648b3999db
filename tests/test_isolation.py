"""Tenant isolation through the API: every route that takes an id answers 404 across tenants
(and across members of one tenant), never 403, so ids leak nothing."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import FIXTURES, Account, add_user, log_in, sign_up, upload

ID_ROUTES = [
    ("GET", "/audio_recordings/{id}"),
    ("GET", "/audio_recordings/{id}/transcript"),
    ("GET", "/audio_recordings/{id}/transcript?format=srt"),
    ("GET", "/audio_recordings/{id}/events"),
    ("GET", "/audio_recordings/{id}/report"),
    ("GET", "/audio_recordings/{id}/report?format=md"),
    ("GET", "/audio_recordings/{id}/annotation"),
    ("PUT", "/audio_recordings/{id}/annotation"),
    ("GET", "/audio_recordings/{id}/annotation/versions"),
    ("POST", "/audio_recordings/{id}/reports"),
    ("GET", "/audio_recordings/{id}/reports"),
    ("DELETE", "/audio_recordings/{id}"),
]
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    # Valid requests, so nothing but visibility can refuse them.
    ("PUT", "/audio_recordings/{id}/annotation"): {
        "json": {"segments": [], "events": []},
        "headers": {"If-Match": '"x"'},
    },
    ("POST", "/audio_recordings/{id}/reports"): {"json": {}},
}


async def _request(
    client: httpx.AsyncClient, method: str, path: str, recording_id: str, account: Account
) -> httpx.Response:
    extra = BODIES.get((method, path), {})
    headers = {**account.auth, **extra.get("headers", {})}
    url = path.format(id=recording_id)
    return await client.request(method, url, json=extra.get("json"), headers=headers)


async def _recording(client: httpx.AsyncClient, account: Account, fixture: str) -> str:
    response = await upload(client, account.auth, FIXTURES / fixture)
    assert response.status_code in (200, 202), response.text
    recording_id: str = response.json()["recording_id"]
    return recording_id


class TestCrossTenantIds:
    async def test_every_id_route_answers_404_to_another_tenant(
        self, visitor: httpx.AsyncClient
    ) -> None:
        alice = await sign_up(visitor, tenant_name="Clinic A")
        bob = await sign_up(visitor, tenant_name="Clinic B")
        bobs = await _recording(visitor, bob, "jfk.opus")
        for method, path in ID_ROUTES:
            response = await _request(visitor, method, path, bobs, alice)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["error"]["code"] == "not_found"
        listing = (await visitor.get("/audio_recordings", headers=alice.auth)).json()
        assert listing["items"] == []
        still_there = await visitor.get(f"/audio_recordings/{bobs}", headers=bob.auth)
        assert still_there.status_code == 200

    async def test_same_bytes_in_two_tenants_are_two_recordings(
        self, visitor: httpx.AsyncClient
    ) -> None:
        alice = await sign_up(visitor)
        bob = await sign_up(visitor)
        assert await _recording(visitor, alice, "jfk.ogg") != await _recording(
            visitor, bob, "jfk.ogg"
        )


class TestMembers:
    async def test_members_see_only_their_own_recordings_and_admins_see_all(
        self, visitor: httpx.AsyncClient
    ) -> None:
        admin = await sign_up(visitor)
        first = await log_in(visitor, await add_user(visitor, admin))
        second = await log_in(visitor, await add_user(visitor, admin))
        mine = await _recording(visitor, first, "jfk.mp3")
        for method, path in ID_ROUTES:
            response = await _request(visitor, method, path, mine, second)
            assert response.status_code == 404, (method, path)
        assert (await visitor.get("/audio_recordings", headers=second.auth)).json()["items"] == []
        assert (
            await visitor.get(f"/audio_recordings/{mine}", headers=admin.auth)
        ).status_code == 200
        admin_list = (await visitor.get("/audio_recordings", headers=admin.auth)).json()
        assert [item["id"] for item in admin_list["items"]] == [mine]

    async def test_members_cannot_manage_users(self, visitor: httpx.AsyncClient) -> None:
        admin = await sign_up(visitor)
        member = await log_in(visitor, await add_user(visitor, admin))
        assert (await visitor.get("/users", headers=member.auth)).status_code == 403
