"""Accounts, sessions and tenant isolation, against the real app and the real Postgres.

Every client gets an address of its own (``fresh_ip`` in conftest), so the per-IP rate limits,
which live in Postgres and outlast a test, never leak from one test into another.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from fastapi import FastAPI
from psycopg import sql
from pydantic import SecretStr

from db.models import TENANT_TABLES
from fluently.settings import Environment, Settings
from serve_app.security import key_id
from tests.conftest import client_of, running

PASSWORD = "correct horse battery staple"


def fresh_email() -> str:
    return f"{uuid.uuid4().hex[:12]}@clinic.example"


@dataclass
class Account:
    email: str
    access_token: str
    refresh_token: str
    user: dict[str, Any]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def _account(response: httpx.Response, email: str) -> Account:
    body = response.json()
    return Account(
        email=email,
        access_token=body["access_token"],
        refresh_token=response.cookies["refresh_token"],
        user=body["user"],
    )


async def sign_up(client: httpx.AsyncClient, *, tenant_name: str = "Clinic") -> Account:
    email = fresh_email()
    response = await client.post(
        "/auth/signup", json={"tenant_name": tenant_name, "email": email, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    return _account(response, email)


async def log_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> Account:
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return _account(response, email)


async def add_user(client: httpx.AsyncClient, admin: Account, *, role: str = "member") -> str:
    email = fresh_email()
    response = await client.post(
        "/users", headers=admin.auth, json={"email": email, "password": PASSWORD, "role": role}
    )
    assert response.status_code == 201, response.text
    return email


async def with_cookie(client: httpx.AsyncClient, path: str, refresh_token: str) -> httpx.Response:
    """POST presenting exactly this refresh token (an explicit header beats the cookie jar)."""
    return await client.post(path, headers={"Cookie": f"refresh_token={refresh_token}"})


def set_cookie_attributes(response: httpx.Response) -> set[str]:
    header = response.headers["set-cookie"]
    return {part.strip().lower() for part in header.split(";")[1:]}


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


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

    async def test_guessing_one_account_is_limited_across_replicas_and_restarts(
        self, settings: Settings, visitor: httpx.AsyncClient
    ) -> None:
        account = await sign_up(visitor)
        attempt = {"email": account.email, "password": "wrong " + PASSWORD}
        responses = []
        async with running(settings) as replica_a, running(settings) as replica_b:
            async with client_of(replica_a) as a, client_of(replica_b) as b:
                for i in range(20):
                    responses.append(
                        await (a if i % 2 == 0 else b).post("/auth/login", json=attempt)
                    )
        statuses = [r.status_code for r in responses]
        limit = settings.auth.login_limit_per_account
        assert statuses[:limit] == [401] * limit
        assert statuses[limit:] == [429] * (20 - limit)
        assert 0 < int(responses[limit].headers["retry-after"]) <= settings.auth.rate_window_s
        assert error_code(responses[limit]) == "rate_limited"
        async with running(settings) as restarted, client_of(restarted) as client:
            right = await client.post(
                "/auth/login", json={"email": account.email, "password": PASSWORD}
            )
            assert right.status_code == 429

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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _handmade(
    header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]
) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


@dataclass
class Forge:
    """Makes access tokens for one real user, correct except for what a case changes."""

    secret: str
    issuer: str
    audience: str
    user_id: str
    tenant_id: str
    refresh_token: str

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(datetime.now(UTC).timestamp())
        claims: dict[str, Any] = {
            "sub": self.user_id,
            "tid": self.tenant_id,
            "role": "admin",
            "iat": now,
            "exp": now + 300,
            "iss": self.issuer,
            "aud": self.audience,
            "typ": "access",
            "jti": uuid.uuid4().hex,
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: dict[str, Any], *, secret: str | None = None, alg: str = "HS256") -> str:
        key = secret or self.secret
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": key_id(self.secret)})

    def hmac256(self, data: bytes) -> bytes:
        return hmac.new(self.secret.encode(), data, hashlib.sha256).digest()


def _tampered(forge: Forge) -> str:
    header, _, signature = forge.sign(forge.claims()).split(".")
    payload = _b64(json.dumps(forge.claims(tid=str(uuid.uuid4()))).encode())
    return f"{header}.{payload}.{signature}"


OTHER_SECRET = "another-secret-" + "y" * 40
FORGERIES: dict[str, Callable[[Forge], str]] = {
    "alg_none": lambda f: _handmade(
        {"alg": "none", "typ": "JWT", "kid": key_id(f.secret)}, f.claims(), lambda _: b""
    ),
    "hs512": lambda f: f.sign(f.claims(), alg="HS512"),
    "rs256_header_with_hmac_signature": lambda f: _handmade(
        {"alg": "RS256", "typ": "JWT", "kid": key_id(f.secret)}, f.claims(), f.hmac256
    ),
    "wrong_key": lambda f: f.sign(f.claims(), secret=OTHER_SECRET),
    "tampered_payload": _tampered,
    "expired": lambda f: f.sign(
        f.claims(
            iat=int((datetime.now(UTC) - timedelta(hours=1)).timestamp()),
            exp=int((datetime.now(UTC) - timedelta(minutes=1)).timestamp()),
        )
    ),
    "missing_exp": lambda f: f.sign({k: v for k, v in f.claims().items() if k != "exp"}),
    "missing_tid": lambda f: f.sign({k: v for k, v in f.claims().items() if k != "tid"}),
    "wrong_audience": lambda f: f.sign(f.claims(aud="someone-else")),
    "wrong_issuer": lambda f: f.sign(f.claims(iss="someone-else")),
    "unknown_kid": lambda f: jwt.encode(
        f.claims(), OTHER_SECRET, algorithm="HS256", headers={"kid": key_id(OTHER_SECRET)}
    ),
    "no_kid": lambda f: jwt.encode(f.claims(), f.secret, algorithm="HS256"),
    "refresh_typ": lambda f: f.sign(f.claims(typ="refresh")),
    "refresh_cookie_as_bearer": lambda f: f.refresh_token,
    "garbage": lambda f: "not.a.jwt",
}


@pytest.fixture(scope="module")
async def forge(ingress: FastAPI, settings: Settings) -> Forge:
    async with client_of(ingress) as client:
        account = await sign_up(client)
    return Forge(
        secret=settings.signing_secret(),
        issuer=settings.auth.issuer,
        audience=settings.auth.audience,
        user_id=account.user["id"],
        tenant_id=account.user["tenant_id"],
        refresh_token=account.refresh_token,
    )


class TestMe:
    async def test_without_a_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/auth/me")
        assert response.status_code == 401
        assert error_code(response) == "missing_token"
        basic = await client.get("/auth/me", headers={"Authorization": "Basic dTpw"})
        assert basic.status_code == 401

    async def test_a_validly_signed_token_naming_another_tenant_is_401(
        self, client: httpx.AsyncClient, visitor: httpx.AsyncClient, forge: Forge
    ) -> None:
        other = await sign_up(visitor)
        token = forge.sign(forge.claims(tid=other.user["tenant_id"]))
        response = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401

    async def test_a_correctly_made_token_is_accepted(
        self, client: httpx.AsyncClient, forge: Forge
    ) -> None:
        token = forge.sign(forge.claims())
        response = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert response.json()["id"] == forge.user_id

    @pytest.mark.parametrize("case", sorted(FORGERIES))
    async def test_a_forged_or_invalid_token_is_401(
        self, client: httpx.AsyncClient, forge: Forge, case: str
    ) -> None:
        token = FORGERIES[case](forge)
        response = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, response.text
        assert error_code(response) in {"invalid_token", "token_expired"}

    async def test_tokens_signed_with_a_previous_key_verify_after_rotation(
        self, settings: Settings, client: httpx.AsyncClient, forge: Forge
    ) -> None:
        old_token = forge.sign(forge.claims())
        rotated = settings.model_copy(
            update={
                "jwt_secret": SecretStr("rotated-secret-" + "z" * 40),
                "jwt_previous_secrets": [SecretStr(settings.signing_secret())],
            }
        )
        async with running(rotated) as new_app, client_of(new_app) as new_client:
            old = await new_client.get("/auth/me", headers={"Authorization": f"Bearer {old_token}"})
            assert old.status_code == 200
            account = await sign_up(new_client)
        assert account.access_token.split(".")[0] != old_token.split(".")[0], "new kid"
        assert (await client.get("/auth/me", headers=account.auth)).status_code == 401

    async def test_returns_the_callers_own_profile(self, visitor: httpx.AsyncClient) -> None:
        account = await sign_up(visitor, tenant_name="Fluency Lab")
        response = await visitor.get("/auth/me", headers=account.auth)
        assert response.status_code == 200
        body = response.json()
        assert body["id"] == account.user["id"]
        assert body["email"] == account.email
        assert body["role"] == "admin"
        assert body["tenant_name"] == "Fluency Lab"


class TestUsers:
    async def test_without_a_token_is_401(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/users")).status_code == 401
        response = await client.post("/users", json={"email": fresh_email(), "password": PASSWORD})
        assert response.status_code == 401

    async def test_lists_only_the_callers_tenant(self, visitor: httpx.AsyncClient) -> None:
        a, b = await sign_up(visitor), await sign_up(visitor)
        a_member, b_member = await add_user(visitor, a), await add_user(visitor, b)
        listed = (await visitor.get("/users", headers=a.auth)).json()
        assert {u["email"] for u in listed} == {a.email, a_member}
        assert {u["tenant_id"] for u in listed} == {a.user["tenant_id"]}
        assert b_member not in {u["email"] for u in listed}

    async def test_members_are_forbidden(self, visitor: httpx.AsyncClient) -> None:
        admin = await sign_up(visitor)
        member = await log_in(visitor, await add_user(visitor, admin))
        assert member.user["role"] == "member"
        listing = await visitor.get("/users", headers=member.auth)
        assert listing.status_code == 403
        assert error_code(listing) == "forbidden"
        adding = await visitor.post(
            "/users", headers=member.auth, json={"email": fresh_email(), "password": PASSWORD}
        )
        assert adding.status_code == 403

    async def test_an_admin_adds_users_who_can_log_in_to_the_same_tenant(
        self, visitor: httpx.AsyncClient
    ) -> None:
        admin = await sign_up(visitor)
        email = await add_user(visitor, admin, role="admin")
        second_admin = await log_in(visitor, email)
        assert second_admin.user["tenant_id"] == admin.user["tenant_id"]
        assert second_admin.user["role"] == "admin"
        assert (await visitor.get("/users", headers=second_admin.auth)).status_code == 200

    async def test_a_taken_email_is_409_even_in_another_tenant(
        self, visitor: httpx.AsyncClient
    ) -> None:
        a, b = await sign_up(visitor), await sign_up(visitor)
        response = await visitor.post(
            "/users", headers=b.auth, json={"email": a.email.upper(), "password": PASSWORD}
        )
        assert response.status_code == 409

    async def test_a_short_password_is_422(self, visitor: httpx.AsyncClient) -> None:
        admin = await sign_up(visitor)
        response = await visitor.post(
            "/users", headers=admin.auth, json={"email": fresh_email(), "password": "short"}
        )
        assert response.status_code == 422
        assert error_code(response) == "weak_password"


def _insert_for(table: str, tenant: uuid.UUID) -> sql.Composed:
    """An insert of a minimal row into ``table`` claiming ``tenant``."""
    ref = sql.Literal(str(uuid.uuid4()))
    rows: dict[str, dict[str, Any]] = {
        "users": {"email": f"{uuid.uuid4()}@x.example", "password_hash": "x", "role": "admin"},
        "refresh_tokens": {
            "user_id": ref,
            "family_id": ref,
            "token_hash": uuid.uuid4().hex,
            "expires_at": sql.SQL("now()"),
        },
        "audio_recordings": {
            "user_id": ref,
            "storage_key": "k",
            "sha256": uuid.uuid4().hex,
            "size_bytes": 1,
            "language": "en",
            "report_type": "fluency_analysis",
            "report_language": "en",
            "status": "pending",
            "chunks_done": 0,
            "chunks_total": 0,
        },
        "transcriptions": {
            "recording_id": ref,
            "text": "t",
            "language": "en",
            "backend": "local",
            "model": "m",
            "segments": "[]",
            "chunks": "[]",
        },
        "reports": {
            "recording_id": ref,
            "type": "fluency_analysis",
            "language": "en",
            "generator": "template",
            "metrics": "{}",
            "content_markdown": "#",
        },
        "jobs": {
            "kind": "noop",
            "queue": "low",
            "priority": 2,
            "status": "done",
            "attempts": 0,
            "max_attempts": 1,
        },
    }
    values = {"tenant_id": str(tenant), **rows[table]}
    return sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(c) for c in values),
        sql.SQL(", ").join(
            v if isinstance(v, sql.Composable) else sql.Literal(v) for v in values.values()
        ),
    )


class TestDatabaseIsolation:
    async def test_no_tenant_table_accepts_a_row_for_another_tenant(
        self, visitor: httpx.AsyncClient, app_conninfo: str
    ) -> None:
        a, b = await sign_up(visitor), await sign_up(visitor)
        with psycopg.connect(app_conninfo) as conn:
            conn.execute("SELECT set_config('app.tenant_id', %s, false)", (a.user["tenant_id"],))
            for table in TENANT_TABLES:
                with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                    conn.execute(_insert_for(table, uuid.UUID(b.user["tenant_id"])))
            assert conn.execute(
                "SELECT count(*) FROM users WHERE tenant_id = %s", (b.user["tenant_id"],)
            ).fetchone() == (0,)
            assert conn.execute(
                "SELECT count(*) FROM refresh_tokens WHERE tenant_id = %s", (b.user["tenant_id"],)
            ).fetchone() == (0,)

    async def test_the_cross_tenant_lookups_match_exactly_and_reveal_little(
        self, visitor: httpx.AsyncClient, app_conninfo: str
    ) -> None:
        account = await sign_up(visitor)
        with psycopg.connect(app_conninfo) as conn:
            for pattern in ("%", "%@clinic.example", "", account.email[:6] + "%"):
                found = conn.execute("SELECT * FROM fluently_find_login(%s)", (pattern,))
                assert found.fetchall() == [], pattern
            found = conn.execute("SELECT * FROM fluently_find_login(%s)", (account.email.upper(),))
            assert [c.name for c in found.description or []] == [
                "user_id",
                "tenant_id",
                "password_hash",
                "role",
            ]
            assert len(found.fetchall()) == 1
            for pattern in ("%", "", hashlib.sha256(b"").hexdigest(), account.refresh_token):
                found = conn.execute("SELECT * FROM fluently_find_refresh_token(%s)", (pattern,))
                assert found.fetchall() == [], "only a token's sha256 finds it"
            token_hash = hashlib.sha256(account.refresh_token.encode()).hexdigest()
            found = conn.execute("SELECT * FROM fluently_find_refresh_token(%s)", (token_hash,))
            assert [c.name for c in found.description or []] == [
                "id",
                "tenant_id",
                "user_id",
                "family_id",
            ]
            assert len(found.fetchall()) == 1

    def test_the_lookups_are_not_public_and_pin_their_search_path(
        self, app_db: psycopg.Connection
    ) -> None:
        for function in ("fluently_find_login(text)", "fluently_find_refresh_token(text)"):
            row = app_db.execute(
                "SELECT has_function_privilege('public', %s, 'EXECUTE'), p.prosecdef, "
                "p.proconfig FROM pg_proc p WHERE p.oid = %s::regprocedure",
                (function, function),
            ).fetchone()
            assert row is not None
            public_may_execute, security_definer, config = row
            assert not public_may_execute, function
            assert security_definer, function
            assert any(c.startswith("search_path=") for c in config), function

    async def test_the_rate_limit_log_holds_no_email(
        self, visitor: httpx.AsyncClient, app_db: psycopg.Connection
    ) -> None:
        email = fresh_email()
        await visitor.post("/auth/login", json={"email": email, "password": PASSWORD})
        local_part = email.split("@")[0]
        found = app_db.execute(
            "SELECT count(*) FROM rate_limit_hits WHERE key LIKE %s", (f"%{local_part}%",)
        ).fetchone()
        assert found == (0,)


class TestConcurrentIsolation:
    async def test_interleaved_requests_through_a_small_pool_see_only_their_own_tenant(
        self, settings: Settings
    ) -> None:
        small_pool = settings.model_copy(update={"db_pool_size": 2})
        async with running(small_pool) as instance, client_of(instance) as crowded:
            callers: list[tuple[Account, set[str]]] = []
            for i in range(5):
                admin = await sign_up(crowded, tenant_name=f"Clinic {i}")
                members = [await log_in(crowded, await add_user(crowded, admin)) for _ in range(2)]
                everyone = {admin.user["id"], *(m.user["id"] for m in members)}
                callers += [(account, everyone) for account in (admin, *members)]

            async def check(account: Account, tenant_users: set[str], listing: bool) -> None:
                if listing and account.user["role"] == "admin":
                    response = await crowded.get("/users", headers=account.auth)
                    assert response.status_code == 200
                    assert {u["id"] for u in response.json()} == tenant_users
                    assert {u["tenant_id"] for u in response.json()} == {account.user["tenant_id"]}
                else:
                    response = await crowded.get("/auth/me", headers=account.auth)
                    assert response.status_code == 200
                    body = response.json()
                    assert (body["id"], body["tenant_id"]) == (
                        account.user["id"],
                        account.user["tenant_id"],
                    )

            picker = random.Random(500)
            for _ in range(10):
                batch = [
                    check(*picker.choice(callers), listing=picker.random() < 0.5) for _ in range(50)
                ]
                await asyncio.gather(*batch)
