"""Passwords (Argon2id), access tokens (HS256 JWTs with key ids) and opaque refresh tokens."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from db.models import Role
from db.session import TenantId
from fluently.errors import Unauthorized, UnprocessableEntity
from fluently.settings import AuthSettings, Settings

ALGORITHM = "HS256"
ACCESS = "access"
REQUIRED_CLAIMS = ("sub", "tid", "role", "iat", "exp", "iss", "aud", "typ", "jti")


@dataclass(frozen=True)
class AuthUser:
    """The caller, as proven by a verified access token."""

    id: uuid.UUID
    tenant_id: TenantId
    role: Role


def _hasher(memory_kib: int, time_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
    )


@functools.cache
def _dummy_hash(memory_kib: int, time_cost: int, parallelism: int) -> str:
    """A hash of a random password made with the live parameters, computed once per process."""
    return _hasher(memory_kib, time_cost, parallelism).hash(secrets.token_urlsafe(32))


MAX_PASSWORD_LENGTH = 1024
"""Characters after normalisation. Argon2 reads the whole password, so this bounds the work one
request can ask of it; far beyond any passphrase a person types or a manager generates."""

_BLANK = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})
"""Unicode categories that show nothing: spaces, line breaks, control and zero-width characters."""


def normalise_password(password: str) -> str:
    """NFKC, so one password is one password whatever keyboard or system typed it: a composed
    "é" and "e" + combining accent, full-width and ASCII letters, a no-break space and a space.
    """
    return unicodedata.normalize("NFKC", password)


def _forms(password: str) -> tuple[str, ...]:
    """What to verify: the normalised form, then the password as typed if that differs.

    Hashes made before passwords were normalised are of the form as typed; they keep working,
    and are replaced by a hash of the normalised form at the next login.
    """
    normalised = normalise_password(password)
    return (normalised,) if normalised == password else (normalised, password)


@dataclass(frozen=True)
class PasswordCheck:
    matches: bool
    needs_rehash: bool
    """The stored hash matched but is outdated (parameters, or made before normalisation)."""


def _weak(message: str) -> UnprocessableEntity:
    return UnprocessableEntity(message, code="weak_password")


class Passwords:
    """Argon2id hashing of NFKC-normalised passwords.

    Verification runs the same Argon2 work whether or not the account exists, so timing does not
    tell an unknown email from a wrong password.
    """

    def __init__(self, auth: AuthSettings) -> None:
        params = (auth.argon2_memory_kib, auth.argon2_time_cost, auth.argon2_parallelism)
        self._hasher = _hasher(*params)
        self._dummy_hash = _dummy_hash(*params)
        self.min_length = auth.min_password_length

    def check_policy(self, password: str) -> None:
        """Lengths count characters of the normalised form, the one that is hashed."""
        normalised = normalise_password(password)
        if all(unicodedata.category(c) in _BLANK for c in normalised):
            raise _weak("password must not be blank or only spaces and invisible characters")
        if len(normalised) < self.min_length:
            raise _weak(f"password must be at least {self.min_length} characters long")
        if len(normalised) > MAX_PASSWORD_LENGTH:
            raise _weak(
                f"password must be at most {MAX_PASSWORD_LENGTH} characters long "
                "(counted after Unicode NFKC normalisation)"
            )

    async def hash(self, password: str) -> str:
        """Hash off the event loop: one hash takes tens of milliseconds and 19 MiB."""
        return await asyncio.to_thread(self._hasher.hash, normalise_password(password))

    async def verify(self, *, stored_hash: str | None, password: str) -> PasswordCheck:
        """``stored_hash=None`` (no such account) verifies against a dummy hash and fails.

        Each form of the password (``_forms``) is verified once against the target until one
        matches; a failure therefore costs the same for an unknown account as for a wrong
        password, and the number of verifications depends only on the password sent.
        """
        target = stored_hash if stored_hash is not None else self._dummy_hash
        matched = await asyncio.to_thread(self._first_match, target, _forms(password))
        if stored_hash is None or matched is None:
            return PasswordCheck(matches=False, needs_rehash=False)
        outdated = matched > 0 or self._hasher.check_needs_rehash(stored_hash)
        return PasswordCheck(matches=True, needs_rehash=outdated)

    def _first_match(self, stored_hash: str, forms: tuple[str, ...]) -> int | None:
        """The index of the first form that matches, or None."""
        for index, form in enumerate(forms):
            try:
                if self._hasher.verify(stored_hash, form):
                    return index
            except (VerificationError, InvalidHashError):
                continue
        return None


def key_id(secret: str) -> str:
    """A short public name for a signing key: it lets old keys verify during a rotation.

    It reveals nothing an HS256 signature does not already: both are one-way functions of
    the secret.
    """
    return hashlib.sha256(b"fluently-jwt-kid\x00" + secret.encode()).hexdigest()[:16]


class AccessTokens:
    """Short-lived JWTs; the first secret signs, every listed secret verifies."""

    def __init__(self, *, keys: Sequence[str], issuer: str, audience: str, ttl_s: int) -> None:
        self._signing_key = keys[0]
        self._signing_kid = key_id(keys[0])
        self._keys = {key_id(key): key for key in keys}
        self._issuer = issuer
        self._audience = audience
        self.ttl_s = ttl_s

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessTokens:
        previous = [secret.get_secret_value() for secret in settings.jwt_previous_secrets]
        return cls(
            keys=[settings.signing_secret(), *previous],
            issuer=settings.auth.issuer,
            audience=settings.auth.audience,
            ttl_s=settings.auth.access_token_ttl_s,
        )

    def issue(self, *, user_id: uuid.UUID, tenant_id: TenantId, role: Role) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "tid": str(tenant_id),
            "role": role.value,
            "iat": now,
            "exp": now + timedelta(seconds=self.ttl_s),
            "iss": self._issuer,
            "aud": self._audience,
            "typ": ACCESS,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(
            claims, self._signing_key, algorithm=ALGORITHM, headers={"kid": self._signing_kid}
        )

    def verify(self, token: str) -> AuthUser:
        """Every failure is the same 401; only expiry is named, so clients know to refresh."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._keys.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise Unauthorized("invalid access token", code="invalid_token")
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": list(REQUIRED_CLAIMS)},
            )
            if claims["typ"] != ACCESS:
                raise Unauthorized("invalid access token", code="invalid_token")
            return AuthUser(
                id=uuid.UUID(claims["sub"]),
                tenant_id=TenantId(uuid.UUID(claims["tid"])),
                role=Role(claims["role"]),
            )
        except jwt.ExpiredSignatureError as e:
            raise Unauthorized("access token expired", code="token_expired") from e
        except (jwt.InvalidTokenError, ValueError, TypeError) as e:
            raise Unauthorized("invalid access token", code="invalid_token") from e


def new_refresh_token() -> tuple[str, str]:
    """A fresh opaque refresh token and the sha256 hex that is all the database keeps."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
