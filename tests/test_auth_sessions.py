"""Refresh-token rotation and logout: the refresh cookie, its families and their revocation.

Every client gets an address of its own (``fresh_ip`` in tests/support.py), so the per-IP rate
limits, which live in Postgres and outlast a test, never leak from one test into another.
"""

from __future__ import annotations

import hashlib

import httpx
import psycopg

from fluently.settings import Settings
from tests.support import error_code, log_in, set_cookie_attributes, sign_up, with_cookie


class TestRefresh:
    async def test_without_a_cookie_is_401(self, visitor: httpx.AsyncClient) -> None:
        response = await visitor.post("/auth/refresh")
        assert response.status_code == 401
        assert error_code(response) == "missing_refresh_token"

    async def test_an_unknown_token_is_401(self, visitor: httpx.AsyncClient) -> None:
        response = await with_cookie(visitor, "/auth/refresh", "made-up")
        assert response.status_code == 401
        assert error_code(response) == "invalid_refresh_token"

    async def test_signup_login_me_refresh_refresh_rotates_the_cookie_each_time(
        self, visitor: httpx.AsyncClient
    ) -> None:
        signed_up = await sign_up(visitor)
        logged_in = await log_in(visitor, signed_up.email)
        assert (await visitor.get("/auth/me", headers=logged_in.auth)).status_code == 200
        cookies = [signed_up.refresh_token, logged_in.refresh_token]
        for _ in range(2):
            response = await visitor.post("/auth/refresh")  # the jar sends the latest cookie
            assert response.status_code == 200, response.text
            assert {"httponly", "samesite=strict", "path=/auth"} <= set_cookie_attributes(response)
            cookies.append(response.cookies["refresh_token"])
            token = response.json()["access_token"]
            me = await visitor.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
            assert me.json()["id"] == signed_up.user["id"]
        assert len(set(cookies)) == 4

    async def test_reusing_a_rotated_token_revokes_its_whole_family(
        self, visitor: httpx.AsyncClient
    ) -> None:
        account = await sign_up(visitor)
        other_device = await log_in(visitor, account.email)
        rotated = await with_cookie(visitor, "/auth/refresh", account.refresh_token)
        newest = rotated.cookies["refresh_token"]
        reuse = await with_cookie(visitor, "/auth/refresh", account.refresh_token)
        assert reuse.status_code == 401
        assert (await with_cookie(visitor, "/auth/refresh", newest)).status_code == 401
        other = await with_cookie(visitor, "/auth/refresh", other_device.refresh_token)
        assert other.status_code == 200, "another login's family is unaffected"

    async def test_an_expired_token_is_401(
        self, visitor: httpx.AsyncClient, admin_conninfo: str
    ) -> None:
        account = await sign_up(visitor)
        with psycopg.connect(admin_conninfo) as conn:
            conn.execute(
                "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' "
                "WHERE token_hash = %s",
                (hashlib.sha256(account.refresh_token.encode()).hexdigest(),),
            )
        response = await with_cookie(visitor, "/auth/refresh", account.refresh_token)
        assert response.status_code == 401

    async def test_refreshes_are_rate_limited_per_ip(
        self, settings: Settings, visitor: httpx.AsyncClient
    ) -> None:
        for _ in range(settings.auth.refresh_limit_per_ip):
            assert (
                await visitor.post("/auth/refresh", headers={"Cookie": "refresh_token=x"})
            ).status_code == 401
        response = await visitor.post("/auth/refresh", headers={"Cookie": "refresh_token=x"})
        assert response.status_code == 429
        assert "retry-after" in response.headers


class TestLogout:
    async def test_without_a_cookie_still_clears_it(self, visitor: httpx.AsyncClient) -> None:
        response = await visitor.post("/auth/logout")
        assert response.status_code == 204
        assert "max-age=0" in set_cookie_attributes(response)

    async def test_revokes_the_family_and_clears_the_cookie(
        self, visitor: httpx.AsyncClient
    ) -> None:
        account = await sign_up(visitor)
        rotated = await with_cookie(visitor, "/auth/refresh", account.refresh_token)
        newest = rotated.cookies["refresh_token"]
        response = await with_cookie(visitor, "/auth/logout", newest)
        assert response.status_code == 204
        assert {"max-age=0", "path=/auth"} <= set_cookie_attributes(response)
        assert (await with_cookie(visitor, "/auth/refresh", newest)).status_code == 401
        assert (
            await with_cookie(visitor, "/auth/refresh", account.refresh_token)
        ).status_code == 401
