"""Access tokens: ``/auth/me`` accepts a correctly made one and nothing forged or stale."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from fluently.settings import Settings
from serve_app.security import key_id
from tests.support import client_of, error_code, running, sign_up


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
