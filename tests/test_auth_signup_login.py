"""Signing up and logging in, against the real app and the real Postgres.

Every client gets an address of its own (``fresh_ip`` in tests/support.py), so the per-IP rate
limits, which live in Postgres and outlast a test, never leak from one test into another.
"""

from __future__ import annotations

import hashlib

import httpx
import psycopg
from argon2 import PasswordHasher, Type, extract_parameters

from fluently.settings import Environment, Settings
from tests.support import (
    PASSWORD,
    client_of,
    error_code,
    fresh_email,
    log_in,
    running,
    set_cookie_attributes,
    sign_up,
)


class TestSignup:
    async def test_a_short_password_is_refused_with_the_minimum_length(
        self, visitor: httpx.AsyncClient, settings: Settings
    ) -> None:
        response = await visitor.post(
            "/auth/signup", json={"tenant_name": "C", "email": fresh_email(), "password": "short"}
        )
        assert response.status_code == 422
        assert error_code(response) == "weak_password"
        assert (
            f"at least {settings.auth.min_password_length} characters"
            in (response.json()["error"]["message"])
        )

    async def test_a_malformed_email_is_refused(self, visitor: httpx.AsyncClient) -> None:
        response = await visitor.post(
            "/auth/signup", json={"tenant_name": "C", "email": "nobody", "password": PASSWORD}
        )
        assert response.status_code == 422
        assert error_code(response) == "validation_error"

    async def test_creates_a_tenant_and_its_admin_and_sets_the_refresh_cookie(
        self, visitor: httpx.AsyncClient, settings: Settings
    ) -> None:
        email = fresh_email()
        response = await visitor.post(
            "/auth/signup",
            json={"tenant_name": "Speech Clinic", "email": email, "password": PASSWORD},
        )
        assert response.status_code == 201
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == settings.auth.access_token_ttl_s
        assert body["user"]["email"] == email and body["user"]["role"] == "admin"
        assert {"secure", "httponly", "samesite=strict", "path=/auth"} <= set_cookie_attributes(
            response
        )
        assert f"max-age={30 * 24 * 3600}" in set_cookie_attributes(response)
        me = await visitor.get(
            "/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert me.json()["tenant_name"] == "Speech Clinic"
        assert me.json()["tenant_id"] == body["user"]["tenant_id"]

    async def test_emails_are_unique_case_insensitively_across_tenants(
        self, visitor: httpx.AsyncClient
    ) -> None:
        first = await sign_up(visitor)
        response = await visitor.post(
            "/auth/signup",
            json={"tenant_name": "Other", "email": first.email.upper(), "password": PASSWORD},
        )
        assert response.status_code == 409
        assert error_code(response) == "email_taken"

    async def test_the_password_is_stored_as_argon2id_with_owasp_parameters(
        self, visitor: httpx.AsyncClient, admin_conninfo: str
    ) -> None:
        account = await sign_up(visitor)
        with psycopg.connect(admin_conninfo) as conn:
            row = conn.execute(
                "SELECT password_hash FROM users WHERE id = %s", (account.user["id"],)
            ).fetchone()
        assert row is not None and PASSWORD not in row[0]
        params = extract_parameters(row[0])
        assert params.type is Type.ID
        assert params.memory_cost >= 19_456
        assert params.time_cost >= 2

    async def test_only_a_sha256_of_the_refresh_token_is_stored(
        self, visitor: httpx.AsyncClient, admin_conninfo: str
    ) -> None:
        account = await sign_up(visitor)
        with psycopg.connect(admin_conninfo) as conn:
            stored = [
                r[0]
                for r in conn.execute(
                    "SELECT token_hash FROM refresh_tokens WHERE user_id = %s",
                    (account.user["id"],),
                )
            ]
        assert stored == [hashlib.sha256(account.refresh_token.encode()).hexdigest()]

    async def test_signups_are_rate_limited_per_ip(
        self, visitor: httpx.AsyncClient, settings: Settings
    ) -> None:
        for _ in range(settings.auth.signup_limit_per_ip):
            await sign_up(visitor)
        response = await visitor.post(
            "/auth/signup", json={"tenant_name": "C", "email": fresh_email(), "password": PASSWORD}
        )
        assert response.status_code == 429
        assert error_code(response) == "rate_limited"
        assert 0 < int(response.headers["retry-after"]) <= settings.auth.rate_window_s

    async def test_the_cookie_drops_secure_only_for_local_development(
        self, settings: Settings
    ) -> None:
        development = settings.model_copy(update={"environment": Environment.development})
        async with running(development) as dev_app:
            async with client_of(dev_app, base_url="http://127.0.0.1:8000") as local:
                response = await local.post(
                    "/auth/signup",
                    json={"tenant_name": "C", "email": fresh_email(), "password": PASSWORD},
                )
                assert "secure" not in set_cookie_attributes(response)
            async with client_of(dev_app, base_url="https://clinic.example") as remote:
                response = await remote.post(
                    "/auth/signup",
                    json={"tenant_name": "C", "email": fresh_email(), "password": PASSWORD},
                )
                assert "secure" in set_cookie_attributes(response)


class TestLogin:
    async def test_unknown_email_and_wrong_password_answer_byte_identically(
        self, visitor: httpx.AsyncClient
    ) -> None:
        account = await sign_up(visitor)
        wrong_password = await visitor.post(
            "/auth/login", json={"email": account.email, "password": "wrong " + PASSWORD}
        )
        unknown_email = await visitor.post(
            "/auth/login", json={"email": fresh_email(), "password": "wrong " + PASSWORD}
        )
        assert wrong_password.status_code == unknown_email.status_code == 401
        assert wrong_password.content == unknown_email.content
        assert error_code(wrong_password) == "invalid_credentials"

        def headers(response: httpx.Response) -> dict[str, str]:
            return {k: v for k, v in response.headers.items() if k != "x-request-id"}

        assert headers(wrong_password) == headers(unknown_email)

    async def test_logs_in_case_insensitively_with_a_new_refresh_family(
        self, visitor: httpx.AsyncClient
    ) -> None:
        account = await sign_up(visitor)
        again = await log_in(visitor, account.email.upper())
        assert again.user == account.user
        assert again.refresh_token != account.refresh_token
        assert (await visitor.get("/auth/me", headers=again.auth)).status_code == 200

    async def test_a_hash_with_outdated_parameters_is_upgraded_at_login(
        self, visitor: httpx.AsyncClient, admin_conninfo: str
    ) -> None:
        account = await sign_up(visitor)
        legacy = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
        with psycopg.connect(admin_conninfo) as conn:
            conn.execute(
                "UPDATE users SET password_hash = %s WHERE id = %s", (legacy, account.user["id"])
            )
        await log_in(visitor, account.email)
        with psycopg.connect(admin_conninfo) as conn:
            row = conn.execute(
                "SELECT password_hash FROM users WHERE id = %s", (account.user["id"],)
            ).fetchone()
        assert row is not None
        assert extract_parameters(row[0]).memory_cost >= 19_456

    async def test_hits_that_left_the_window_are_pruned(
        self, visitor: httpx.AsyncClient, admin_conninfo: str
    ) -> None:
        with psycopg.connect(admin_conninfo) as conn:
            aged = [
                r[0]
                for r in conn.execute(
                    "UPDATE rate_limit_hits SET at = now() - interval '1 day' WHERE id IN "
                    "(SELECT id FROM rate_limit_hits ORDER BY id LIMIT 10) RETURNING id"
                )
            ]
        await visitor.post("/auth/login", json={"email": fresh_email(), "password": PASSWORD})
        with psycopg.connect(admin_conninfo) as conn:
            left = conn.execute(
                "SELECT count(*) FROM rate_limit_hits WHERE id = ANY(%s)", (aged,)
            ).fetchone()
        assert aged and left == (0,)

    async def test_attempts_from_one_ip_are_limited_across_accounts(
        self, visitor: httpx.AsyncClient, settings: Settings
    ) -> None:
        statuses = [
            (
                await visitor.post(
                    "/auth/login", json={"email": fresh_email(), "password": PASSWORD}
                )
            ).status_code
            for _ in range(settings.auth.login_limit_per_ip + 1)
        ]
        assert statuses == [401] * settings.auth.login_limit_per_ip + [429]

    async def test_an_address_s_successful_logins_do_not_use_its_budget(
        self, visitor: httpx.AsyncClient, settings: Settings
    ) -> None:
        """A clinic's staff behind one address (one office, one NAT) signing in at the start of
        a day are not refused: only failed logins count against the address, so one more than
        its limit of right passwords all get in, and its failures are still stopped at it."""
        limit = settings.auth.login_limit_per_ip
        account = await sign_up(visitor)
        right = {"email": account.email, "password": PASSWORD}
        statuses = [
            (await visitor.post("/auth/login", json=right)).status_code for _ in range(limit + 1)
        ]
        assert statuses == [200] * (limit + 1)
        wrong = [
            (
                await visitor.post(
                    "/auth/login", json={"email": fresh_email(), "password": PASSWORD}
                )
            ).status_code
            for _ in range(limit + 1)
        ]
        assert wrong == [401] * limit + [429]
