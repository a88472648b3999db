"""Security issue 13 on accounts: login timing, lockout by strangers, enumeration through
``POST /users``, control characters in account fields, and what a password is.

Every client gets an address of its own (``client_of`` without ``ip``), so the per-address
limits, which live in Postgres and outlast a test, never leak from one test into another.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from fluently.settings import Settings
from tests.support import (
    PASSWORD,
    client_of,
    error_code,
    fresh_email,
    fresh_ip,
    log_in,
    running,
    sign_up,
)

NOT_NORMALISED = unicodedata.normalize("NFD", "Ça va très bien, merci beaucoup")
"""A password whose NFKC form differs from itself: decomposed accents."""


@asynccontextmanager
async def app_with(settings: Settings, **auth: Any) -> AsyncIterator[FastAPI]:
    """An app whose auth settings differ from the defaults by ``auth``."""
    changed = settings.model_copy(update={"auth": settings.auth.model_copy(update=auth)})
    async with running(changed) as app:
        yield app


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


async def signup(
    client: httpx.AsyncClient,
    *,
    email: str | None = None,
    password: str = PASSWORD,
    tenant_name: str = "Clinic",
) -> httpx.Response:
    body = {"tenant_name": tenant_name, "email": email or fresh_email(), "password": password}
    return await client.post("/auth/signup", json=body)


@pytest.fixture
def argon2_verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every Argon2 verification the app runs from now on, by the hash it checks against."""
    calls: list[str] = []
    original: Callable[..., bool] = PasswordHasher.verify

    def counted(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        calls.append(str(hash))
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    return calls


class TestLoginTiming:
    async def test_unknown_email_wrong_and_right_password_each_run_one_verification(
        self, visitor: httpx.AsyncClient, argon2_verifications: list[str]
    ) -> None:
        account = await sign_up(visitor)
        counts = {}
        for case, email, password in (
            ("unknown email", fresh_email(), PASSWORD),
            ("wrong password", account.email, "wrong " + PASSWORD),
            ("right password", account.email, PASSWORD),
        ):
            argon2_verifications.clear()
            await login(visitor, email, password)
            counts[case] = len(argon2_verifications)
        assert counts == {"unknown email": 1, "wrong password": 1, "right password": 1}

    async def test_a_password_not_in_normal_form_costs_the_same_for_unknown_and_known_emails(
        self, visitor: httpx.AsyncClient, argon2_verifications: list[str]
    ) -> None:
        account = await sign_up(visitor)
        argon2_verifications.clear()
        assert (await login(visitor, fresh_email(), NOT_NORMALISED)).status_code == 401
        unknown = len(argon2_verifications)
        argon2_verifications.clear()
        assert (await login(visitor, account.email, NOT_NORMALISED)).status_code == 401
        assert unknown == len(argon2_verifications) == 2


class TestLoginLimits:
    async def test_failures_from_one_address_do_not_lock_the_owner_out_from_another(
        self, ingress: FastAPI, settings: Settings
    ) -> None:
        async with client_of(ingress) as attacker, client_of(ingress) as owner:
            account = await sign_up(owner)
            limit = settings.auth.login_limit_per_account_ip
            statuses = [
                (await login(attacker, account.email, "wrong " + PASSWORD)).status_code
                for _ in range(limit)
            ]
            assert statuses == [401] * limit
            refused = await login(attacker, account.email, PASSWORD)
            assert refused.status_code == 429
            assert error_code(refused) == "rate_limited"
            wait = int(refused.headers["retry-after"])
            assert 0 < wait <= settings.auth.rate_window_s
            # The message says how long, as the console shows it: 343 s is "6 minutes".
            said = f"{-(-wait // 60)} minute" if wait >= 60 else f"{wait} second"
            assert f"try again in {said}" in refused.json()["error"]["message"]
            assert (await login(owner, account.email, PASSWORD)).status_code == 200

    async def test_the_pair_limit_holds_across_replicas_and_restarts(
        self, settings: Settings, visitor: httpx.AsyncClient
    ) -> None:
        account = await sign_up(visitor)
        address = fresh_ip()
        limit = settings.auth.login_limit_per_account_ip
        statuses = []
        async with running(settings) as replica_a, running(settings) as replica_b:
            async with client_of(replica_a, ip=address) as a, client_of(replica_b, ip=address) as b:
                for i in range(limit + 2):
                    response = await login(a if i % 2 else b, account.email, "wrong " + PASSWORD)
                    statuses.append(response.status_code)
        assert statuses == [401] * limit + [429] * 2
        async with running(settings) as restarted:
            async with client_of(restarted, ip=address) as same, client_of(restarted) as other:
                assert (await login(same, account.email, PASSWORD)).status_code == 429
                assert (await login(other, account.email, PASSWORD)).status_code == 200

    async def test_a_right_password_forgives_the_failures_from_its_address(
        self, visitor: httpx.AsyncClient, settings: Settings
    ) -> None:
        account = await sign_up(visitor)
        for _ in range(2):
            for _ in range(settings.auth.login_limit_per_account_ip - 1):
                assert (await login(visitor, account.email, "wrong")).status_code == 401
            assert (await login(visitor, account.email, PASSWORD)).status_code == 200

    async def test_past_the_account_ceiling_attempts_wait_longer_up_to_a_cap_and_still_work(
        self, settings: Settings
    ) -> None:
        """From a new address each time, so only the account-wide ceiling applies."""
        ceiling, base_s, max_s = 3, 0.25, 0.5
        async with app_with(
            settings,
            login_slowdown_after=ceiling,
            login_slowdown_base_s=base_s,
            login_slowdown_max_s=max_s,
        ) as app:
            async with client_of(app) as owner:
                account = await sign_up(owner)

            async def attempt(password: str) -> tuple[int, float]:
                async with client_of(app) as stranger:
                    started = time.monotonic()
                    status = (await login(stranger, account.email, password)).status_code
                    return status, time.monotonic() - started

            for _ in range(ceiling):
                assert (await attempt("wrong " + PASSWORD))[0] == 401
            # Waits past the ceiling: base, 2 x base, then capped (uncapped: 1.0 s, 2.0 s, 4.0 s).
            waits = []
            for _ in range(4):
                status, took = await attempt("wrong " + PASSWORD)
                assert status == 401
                waits.append(took)
            assert waits[0] >= base_s and waits[1] >= 2 * base_s
            assert all(w >= max_s for w in waits[1:])
            status, took = await attempt(PASSWORD)
            assert status == 200, "the owner is slowed, never locked out"
            # Uncapped, this wait would be 4.0 s; the margin under it is for a busy machine.
            assert max_s <= took < 3.5, "the wait stops growing at login_slowdown_max_s"

    async def test_successful_logins_count_toward_no_account_limit(
        self, settings: Settings
    ) -> None:
        wait_s = 5.0
        async with app_with(
            settings,
            login_slowdown_after=2,
            login_slowdown_base_s=wait_s,
            login_slowdown_max_s=wait_s,
        ) as app:
            async with client_of(app) as owner:
                account = await sign_up(owner)
                for _ in range(settings.auth.login_limit_per_account_ip + 2):
                    started = time.monotonic()
                    assert (await login(owner, account.email, PASSWORD)).status_code == 200
                    assert time.monotonic() - started < wait_s


class TestAddUserLimits:
    async def test_an_admin_is_limited_even_when_every_attempt_is_refused_with_409(
        self, settings: Settings
    ) -> None:
        async with app_with(settings, add_user_limit_per_admin=3) as app, client_of(app) as c:
            admin, elsewhere = await sign_up(c), await sign_up(c)
            for _ in range(3):
                taken = {"email": elsewhere.email, "password": PASSWORD}
                response = await c.post("/users", headers=admin.auth, json=taken)
                assert response.status_code == 409
                assert error_code(response) == "email_taken"
            email = fresh_email()
            refused = await c.post(
                "/users", headers=admin.auth, json={"email": email, "password": PASSWORD}
            )
            assert refused.status_code == 429
            assert error_code(refused) == "rate_limited"
            assert 0 < int(refused.headers["retry-after"]) <= settings.auth.rate_window_s
            listed = (await c.get("/users", headers=admin.auth)).json()
            assert email not in {u["email"] for u in listed}
            other_admin = await c.post(
                "/users", headers=elsewhere.auth, json={"email": email, "password": PASSWORD}
            )
            assert other_admin.status_code == 201, "the limit is the admin's, not the tenant's"

    async def test_one_address_is_limited_across_admins(self, settings: Settings) -> None:
        async with app_with(settings, add_user_limit_per_ip=3) as app:
            async with client_of(app) as shared, client_of(app) as elsewhere:
                a, b = await sign_up(shared), await sign_up(shared)
                statuses = [
                    (
                        await shared.post(
                            "/users",
                            headers=admin.auth,
                            json={"email": fresh_email(), "password": PASSWORD},
                        )
                    ).status_code
                    for admin in (a, b, a, b)
                ]
                assert statuses == [201, 201, 201, 429]
                response = await elsewhere.post(
                    "/users", headers=b.auth, json={"email": fresh_email(), "password": PASSWORD}
                )
                assert response.status_code == 201


CONTROL = ["\u0000", "\x1b", "\x7f"]
"""NUL (Postgres refuses it) and other control characters that Postgres stores silently."""


def _counts(superuser_conninfo: str) -> tuple[Any, ...]:
    with psycopg.connect(superuser_conninfo) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM users)"
        ).fetchone()
    assert row is not None
    return tuple(row)


class TestControlCharacters:
    @pytest.mark.parametrize("char", [*CONTROL, "\u200b"])
    async def test_signup_refuses_them_in_the_email_and_stores_nothing(
        self, visitor: httpx.AsyncClient, superuser_conninfo: str, char: str
    ) -> None:
        before = _counts(superuser_conninfo)
        response = await signup(visitor, email=fresh_email().replace("@", f"{char}@"))
        assert response.status_code == 422
        assert error_code(response) == "validation_error"
        assert "email" in response.json()["error"]["message"]
        assert _counts(superuser_conninfo) == before

    async def test_signup_refuses_them_and_line_breaks_in_the_tenant_name_but_not_joiners(
        self, visitor: httpx.AsyncClient, superuser_conninfo: str
    ) -> None:
        before = _counts(superuser_conninfo)
        for char in [*CONTROL, "\n", "\u0085", "\u2029"]:
            response = await signup(visitor, tenant_name=f"Speech{char}Clinic")
            assert response.status_code == 422, repr(char)
            assert error_code(response) == "validation_error"
            assert "tenant_name" in response.json()["error"]["message"]
        assert _counts(superuser_conninfo) == before
        name = "\u0645\u06cc\u200c\u06a9\u0646\u0645"  # Persian needs the zero-width non-joiner
        response = await signup(visitor, tenant_name=name)
        assert response.status_code == 201
        me = await visitor.get(
            "/auth/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
        )
        assert me.json()["tenant_name"] == name

    @pytest.mark.parametrize("char", CONTROL)
    async def test_login_refuses_them_in_the_email(
        self, visitor: httpx.AsyncClient, char: str
    ) -> None:
        account = await sign_up(visitor)
        response = await login(visitor, account.email.replace("@", f"{char}@"), PASSWORD)
        assert response.status_code == 422
        assert error_code(response) == "validation_error"

    @pytest.mark.parametrize("char", [*CONTROL, "\u200b"])
    async def test_adding_a_user_refuses_them_in_the_email_and_stores_nothing(
        self, visitor: httpx.AsyncClient, char: str
    ) -> None:
        admin = await sign_up(visitor)
        response = await visitor.post(
            "/users",
            headers=admin.auth,
            json={"email": fresh_email().replace("@", f"{char}@"), "password": PASSWORD},
        )
        assert response.status_code == 422
        assert error_code(response) == "validation_error"
        listed = (await visitor.get("/users", headers=admin.auth)).json()
        assert [u["email"] for u in listed] == [admin.email]


class TestPasswords:
    @pytest.mark.parametrize("blank", [" " * 12, "\t" * 12, "\u3000" * 12, "\u200b" * 12])
    async def test_blank_passwords_are_refused(
        self, visitor: httpx.AsyncClient, superuser_conninfo: str, blank: str
    ) -> None:
        before = _counts(superuser_conninfo)
        response = await signup(visitor, password=blank)
        assert response.status_code == 422
        assert error_code(response) == "weak_password"
        assert "blank" in response.json()["error"]["message"]
        assert _counts(superuser_conninfo) == before

    async def test_an_admin_cannot_give_a_user_a_blank_password(
        self, visitor: httpx.AsyncClient
    ) -> None:
        admin = await sign_up(visitor)
        response = await visitor.post(
            "/users", headers=admin.auth, json={"email": fresh_email(), "password": " " * 16}
        )
        assert response.status_code == 422
        assert error_code(response) == "weak_password"

    async def test_a_password_logs_in_in_any_unicode_form(self, visitor: httpx.AsyncClient) -> None:
        composed = unicodedata.normalize("NFC", NOT_NORMALISED)
        email = fresh_email()
        assert (await signup(visitor, email=email, password=composed)).status_code == 201
        for form in ("NFC", "NFD", "NFKC", "NFKD"):
            password = unicodedata.normalize(form, composed)
            assert (await login(visitor, email, password)).status_code == 200, form
        full_width = "\uff21\uff22\uff23 correct horse battery"  # "ABC" in full-width letters
        other = fresh_email()
        assert (await signup(visitor, email=other, password=full_width)).status_code == 201
        assert (await login(visitor, other, "ABC correct horse battery")).status_code == 200

    async def test_the_minimum_length_counts_normalised_characters(
        self, visitor: httpx.AsyncClient, settings: Settings
    ) -> None:
        short = unicodedata.normalize("NFD", "\u00e9" * (settings.auth.min_password_length - 1))
        assert len(short) >= settings.auth.min_password_length  # as sent: e + combining accent
        response = await signup(visitor, password=short)
        assert response.status_code == 422
        assert error_code(response) == "weak_password"

    async def test_the_length_cap_applies_after_normalisation(
        self, visitor: httpx.AsyncClient
    ) -> None:
        expanding = "\ufdfa" * 100  # one character, eighteen after NFKC
        assert len(unicodedata.normalize("NFKC", expanding)) > 1024
        response = await signup(visitor, password=expanding)
        assert response.status_code == 422
        assert error_code(response) == "weak_password"
        assert "at most 1024 characters" in response.json()["error"]["message"]
        too_long = await signup(visitor, password="x" * 1025)
        assert too_long.status_code == 422
        assert "1024 characters" in too_long.json()["error"]["message"]
        assert (await signup(visitor, password="x" * 1024)).status_code == 201

    async def test_a_hash_made_before_normalisation_still_logs_in_and_is_upgraded(
        self, visitor: httpx.AsyncClient, admin_conninfo: str, settings: Settings
    ) -> None:
        account = await sign_up(visitor)
        auth = settings.auth
        legacy = PasswordHasher(
            time_cost=auth.argon2_time_cost,
            memory_cost=auth.argon2_memory_kib,
            parallelism=auth.argon2_parallelism,
        ).hash(NOT_NORMALISED)
        with psycopg.connect(admin_conninfo) as conn:
            conn.execute(
                "UPDATE users SET password_hash = %s WHERE id = %s", (legacy, account.user["id"])
            )
        composed = unicodedata.normalize("NFC", NOT_NORMALISED)
        assert (await login(visitor, account.email, composed)).status_code == 401
        await log_in(visitor, account.email, NOT_NORMALISED)
        await log_in(visitor, account.email, composed)
