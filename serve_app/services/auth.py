"""Accounts and sessions: signup, login, refresh-token rotation with reuse detection, users.

Signup, login, refresh and logout run before anyone is authenticated, so they find the tenant
first and open its transaction themselves (``tenant_session`` commits when the block ends); so
does adding a user, whose rate-limit hit must commit even when the user is refused.
The other functions for signed-in users take the request's tenant session and never commit.

Rate limits (sliding windows in Postgres, ``db/repositories/rate_limits.py``), per window:
signups per client address; logins per address; failed logins per (account, address), past
which only that pair gets 429; failed logins per account from all addresses, past which
attempts are slowed, never refused (``AuthService._slowdown_s``); user creation per admin and
per address. Accounts are keyed by a hash of the email, so unknown emails are limited alike.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from db.errors import EmailTaken
from db.models import Role, Tenant, User
from db.repositories import rate_limits, refresh_tokens, users
from db.repositories.users import LoginRecord
from db.session import Sessions, TenantId, system_session, tenant_session
from fluently.errors import Conflict, RateLimited, Unauthorized
from fluently.logging import get_logger
from fluently.settings import AuthSettings
from serve_app.security import (
    AccessTokens,
    AuthUser,
    Passwords,
    hash_refresh_token,
    new_refresh_token,
)
from serve_app.services.audit import Action, Auditor

log = get_logger("auth")


def _invalid_credentials() -> Unauthorized:
    # One message for unknown email and wrong password, so responses reveal neither.
    return Unauthorized("invalid email or password", code="invalid_credentials")


def _invalid_refresh_token() -> Unauthorized:
    return Unauthorized(
        "refresh token is invalid, expired or revoked", code="invalid_refresh_token"
    )


async def _create_user(
    session: AsyncSession, *, tenant_id: TenantId, email: str, password_hash: str, role: Role
) -> User:
    """``users.create_user``; 409 ``email_taken`` when any tenant has the email already."""
    try:
        return await users.create_user(
            session, tenant_id=tenant_id, email=email, password_hash=password_hash, role=role
        )
    except EmailTaken as e:
        raise Conflict("an account with this email already exists", code="email_taken") from e


def account_key(action: str, email: str) -> str:
    """Rate-limit key for an account; the email is hashed because the log is not tenant data."""
    digest = hashlib.sha256(email.lower().encode()).hexdigest()[:32]
    return f"{action}:account:{digest}"


def account_ip_key(action: str, email: str, client_ip: str) -> str:
    """Rate-limit key for one account tried from one client address."""
    return f"{account_key(action, email)}:ip:{client_ip}"


def ip_key(action: str, client_ip: str) -> str:
    return f"{action}:ip:{client_ip}"


def admin_key(action: str, admin: AuthUser) -> str:
    return f"{action}:admin:{admin.id}"


async def _refuse_if_limited(
    session: AsyncSession, limits: dict[str, int], *, window_s: int
) -> None:
    """429 when any key is at its limit, with the Retry-After of the last to free a slot.

    Refused attempts are not logged, so Retry-After is exactly when a slot frees up.
    """
    waits = [
        await rate_limits.retry_after_s(session, key=key, limit=limit, window_s=window_s)
        for key, limit in limits.items()
    ]
    wait = max((w for w in waits if w is not None), default=None)
    if wait is not None:
        raise RateLimited(f"too many attempts; try again in {_in_words(wait)}", retry_after_s=wait)


def _in_words(seconds: int) -> str:
    """A wait as a person reads it: "40 seconds", "1 minute", "6 minutes" (rounded up), for the
    message the console shows; ``Retry-After`` carries the seconds."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@dataclass(frozen=True)
class IssuedSession:
    """A signed-in session: the access token for the body, the refresh token for the cookie."""

    access_token: str
    expires_in: int
    refresh_token: str
    user: User


@dataclass(frozen=True)
class _LoginAttempt:
    """A login let through the limits: counted as a failure until the password proves right."""

    account_hit_id: int
    ip_hit_id: int
    account_ip_key: str
    wait_s: float


class AuthService:
    """The flows that open their own transactions: the unauthenticated ones and adding a user."""

    def __init__(
        self,
        *,
        sessions: Sessions,
        passwords: Passwords,
        tokens: AccessTokens,
        settings: AuthSettings,
        auditor: Auditor,
    ) -> None:
        self._sessions = sessions
        self._passwords = passwords
        self._tokens = tokens
        self._settings = settings
        self._auditor = auditor

    async def signup(
        self, *, tenant_name: str, email: str, password: str, client_ip: str
    ) -> IssuedSession:
        """Create a tenant and its first admin, and sign the admin in."""
        self._passwords.check_policy(password)
        await self._enforce_limits(
            {ip_key("signup", client_ip): self._settings.signup_limit_per_ip}
        )
        password_hash = await self._passwords.hash(password)
        tenant_id = TenantId(uuid.uuid4())
        async with tenant_session(self._sessions, tenant_id) as session:
            await users.create_tenant(session, tenant_id=tenant_id, name=tenant_name)
            user = await _create_user(
                session,
                tenant_id=tenant_id,
                email=email,
                password_hash=password_hash,
                role=Role.admin,
            )
            log.info("tenant created", extra={"user_id": str(user.id)})
            await self._audit_user(
                session,
                user_id=user.id,
                tenant_id=tenant_id,
                action=Action.user_created,
                details={"role": Role.admin.value},
            )
            return await self._start_family(session, user=user)

    async def login(self, *, email: str, password: str, client_ip: str) -> IssuedSession:
        """Unknown email and wrong password take the same path, cost the same Argon2 work and
        raise the same error.
        """
        attempt = await self._admit_login(email=email, client_ip=client_ip)
        if attempt.wait_s > 0:
            await asyncio.sleep(attempt.wait_s)
        async with system_session(self._sessions) as session:
            found = await users.find_login(session, email=email)
        check = await self._passwords.verify(
            stored_hash=found.password_hash if found is not None else None, password=password
        )
        if found is None or not check.matches:
            await self._audit_failed_login(found, email=email)
            raise _invalid_credentials()
        tenant_id = TenantId(found.tenant_id)
        async with tenant_session(self._sessions, tenant_id) as session:
            user = await users.get_user(session, tenant_id=tenant_id, user_id=found.user_id)
            if user is None:
                raise _invalid_credentials()
            if check.needs_rehash:
                await users.set_password_hash(
                    session,
                    tenant_id=tenant_id,
                    user_id=user.id,
                    password_hash=await self._passwords.hash(password),
                )
            await self._audit_user(
                session, user_id=user.id, tenant_id=tenant_id, action=Action.login
            )
            issued = await self._start_family(session, user=user)
        await self._forgive(attempt)
        return issued

    async def refresh(self, *, refresh_token: str | None, client_ip: str) -> IssuedSession:
        """Rotate a refresh token. Presenting one that was already rotated means it leaked:
        the whole family is revoked, so the thief's and the owner's newest tokens both stop.
        """
        if refresh_token is None:
            raise Unauthorized("no refresh token cookie", code="missing_refresh_token")
        await self._enforce_limits(
            {ip_key("refresh", client_ip): self._settings.refresh_limit_per_ip}
        )
        async with system_session(self._sessions) as session:
            found = await refresh_tokens.find_by_hash(
                session, token_hash=hash_refresh_token(refresh_token)
            )
        if found is None:
            raise _invalid_refresh_token()
        tenant_id = TenantId(found.tenant_id)
        async with tenant_session(self._sessions, tenant_id) as session:
            issued = await self._rotate(session, tenant_id=tenant_id, token_id=found.id)
        # Raised only after the block commits, so a family revoked on reuse stays revoked.
        if issued is None:
            raise _invalid_refresh_token()
        return issued

    async def logout(self, *, refresh_token: str | None) -> None:
        """Revoke the token's family; unknown or missing tokens are already signed out."""
        if refresh_token is None:
            return
        async with system_session(self._sessions) as session:
            found = await refresh_tokens.find_by_hash(
                session, token_hash=hash_refresh_token(refresh_token)
            )
        if found is None:
            return
        tenant_id = TenantId(found.tenant_id)
        async with tenant_session(self._sessions, tenant_id) as session:
            await refresh_tokens.revoke_family(
                session, tenant_id=tenant_id, family_id=found.family_id
            )

    async def add_user(
        self, *, admin: AuthUser, email: str, password: str, role: Role, client_ip: str
    ) -> User:
        """An admin adds a user to their own tenant.

        Emails are unique across tenants, so a 409 tells an admin that an address is registered
        somewhere; attempts are limited per admin and per address so that this cannot become a
        lookup service (README, "Accounts and sign-in"). The hit commits before the user is
        created, so refused attempts count too, and the tenant transaction opens only after it,
        so a request never holds two pooled connections at once.
        """
        self._passwords.check_policy(password)
        await self._enforce_limits(
            {
                admin_key("add_user", admin): self._settings.add_user_limit_per_admin,
                ip_key("add_user", client_ip): self._settings.add_user_limit_per_ip,
            }
        )
        password_hash = await self._passwords.hash(password)
        async with tenant_session(self._sessions, admin.tenant_id) as session:
            user = await _create_user(
                session,
                tenant_id=admin.tenant_id,
                email=email,
                password_hash=password_hash,
                role=role,
            )
            await self._auditor.record(
                session,
                tenant_id=admin.tenant_id,
                actor_id=admin.id,
                action=Action.user_created,
                target_type="user",
                target_id=user.id,
                details={"role": role.value},
            )
            return user

    async def _enforce_limits(self, limits: dict[str, int]) -> None:
        """Refuse with 429 if any key is at its limit; otherwise count one hit on each."""
        async with system_session(self._sessions) as session:
            await rate_limits.lock_keys(session, keys=limits)
            await _refuse_if_limited(session, limits, window_s=self._settings.rate_window_s)
            await rate_limits.record(session, keys=limits, window_s=self._settings.rate_window_s)

    async def _admit_login(self, *, email: str, client_ip: str) -> _LoginAttempt:
        """Refuse with 429 past the per-address or per-(account, address) limit of failures;
        otherwise count the attempt as a failure now and say how long it waits.

        Counting before the password is checked and forgiving on success (``_forgive``) keeps
        the limits exact when attempts race on several replicas.
        """
        settings = self._settings
        per_ip = ip_key("login", client_ip)
        per_account_ip = account_ip_key("login", email, client_ip)
        per_account = account_key("login", email)
        keys = (per_ip, per_account_ip, per_account)
        async with system_session(self._sessions) as session:
            await rate_limits.lock_keys(session, keys=keys)
            await _refuse_if_limited(
                session,
                {
                    per_ip: settings.login_limit_per_ip,
                    per_account_ip: settings.login_limit_per_account_ip,
                },
                window_s=settings.rate_window_s,
            )
            failures = await rate_limits.hits_in_window(
                session, key=per_account, window_s=settings.rate_window_s
            )
            hits = await rate_limits.record(session, keys=keys, window_s=settings.rate_window_s)
        return _LoginAttempt(
            account_hit_id=hits[per_account],
            ip_hit_id=hits[per_ip],
            account_ip_key=per_account_ip,
            wait_s=self._slowdown_s(failures),
        )

    def _slowdown_s(self, failures: int) -> float:
        """The wait before checking a password, given the account's failures in the window
        from all addresses: none up to ``login_slowdown_after``, then ``base * 2**k`` for the
        k-th attempt past it, capped at ``login_slowdown_max_s``.

        A wait, not a 429 with a short Retry-After: a 429 hands the next slot to whoever asks
        first, so an attacker retrying the instant it opens would take every slot and lock the
        owner out after all. A wait lets every attempt through in turn, so the owner's right
        password always works, at most ``login_slowdown_max_s`` late, while each guess past the
        ceiling costs the guesser seconds; the per-address limits, checked before any wait,
        still bound how many guesses one address makes. The wait is an ``asyncio.sleep``
        before verification: it holds no thread and no database connection.
        """
        settings = self._settings
        beyond = failures - settings.login_slowdown_after
        if beyond < 0:
            return 0.0
        # Capping the exponent keeps 2**k a float however long an attack goes on.
        grown = settings.login_slowdown_base_s * 2.0 ** min(beyond, 32)
        return float(min(grown, settings.login_slowdown_max_s))

    async def _forgive(self, attempt: _LoginAttempt) -> None:
        """The password was right: this attempt was no failure, for the account or for its
        address (a clinic's staff behind one address sign in without using its budget), and
        the failures from the same address on this account are forgiven (that address knows
        the password). The account's failures from other addresses stand, and so do the
        address's failures on other accounts.
        """
        async with system_session(self._sessions) as session:
            await rate_limits.forget(
                session,
                hit_ids=[attempt.account_hit_id, attempt.ip_hit_id],
                keys=[attempt.account_ip_key],
            )

    async def _rotate(
        self, session: AsyncSession, *, tenant_id: TenantId, token_id: uuid.UUID
    ) -> IssuedSession | None:
        """The rotated session, or None when the token may not be used (any more)."""
        token = await refresh_tokens.lock(session, tenant_id=tenant_id, token_id=token_id)
        if token is None or token.revoked_at is not None:
            return None
        if token.rotated_at is not None:
            await refresh_tokens.revoke_family(
                session, tenant_id=tenant_id, family_id=token.family_id
            )
            log.warning(
                "refresh token reused; family revoked",
                extra={"family_id": str(token.family_id), "user_id": str(token.user_id)},
            )
            await self._audit_user(
                session,
                user_id=token.user_id,
                tenant_id=tenant_id,
                action=Action.refresh_token_reused,
                details={"family_id": str(token.family_id)},
            )
            return None
        if token.expires_at <= datetime.now(UTC):
            return None
        user = await users.get_user(session, tenant_id=tenant_id, user_id=token.user_id)
        if user is None:
            return None
        child, child_hash = new_refresh_token()
        await refresh_tokens.rotate(
            session,
            tenant_id=tenant_id,
            token=token,
            child_hash=child_hash,
            expires_at=self._refresh_expiry(),
        )
        return self._issue(user=user, refresh_token=child)

    async def _start_family(self, session: AsyncSession, *, user: User) -> IssuedSession:
        token, token_hash = new_refresh_token()
        await refresh_tokens.issue(
            session,
            tenant_id=TenantId(user.tenant_id),
            user_id=user.id,
            family_id=uuid.uuid4(),
            token_hash=token_hash,
            expires_at=self._refresh_expiry(),
        )
        return self._issue(user=user, refresh_token=token)

    def _issue(self, *, user: User, refresh_token: str) -> IssuedSession:
        access_token = self._tokens.issue(
            user_id=user.id, tenant_id=TenantId(user.tenant_id), role=Role(user.role)
        )
        return IssuedSession(
            access_token=access_token,
            expires_in=self._tokens.ttl_s,
            refresh_token=refresh_token,
            user=user,
        )

    def _refresh_expiry(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._settings.refresh_token_ttl_s)

    # The audit log (serve_app/services/audit.py): sign-in events, in the account's clinic.

    async def _audit_user(
        self,
        session: AsyncSession,
        *,
        user_id: uuid.UUID,
        tenant_id: TenantId,
        action: Action,
        details: dict[str, str] | None = None,
    ) -> None:
        """An entry about the account, in the transaction that acts on it. No actor: whoever
        presents the credentials is not authenticated yet."""
        await self._auditor.record(
            session,
            tenant_id=tenant_id,
            actor_id=None,
            action=action,
            target_type="user",
            target_id=user_id,
            details=details,
        )

    async def _audit_failed_login(self, found: LoginRecord | None, *, email: str) -> None:
        """A wrong password for an account goes in its clinic's audit log; an unknown email
        belongs to no clinic, so only the app log has it (as a hash, like the rate limits)."""
        if found is None:
            log.info("login failed: unknown email", extra={"account": account_key("login", email)})
            return
        tenant_id = TenantId(found.tenant_id)
        async with tenant_session(self._sessions, tenant_id) as session:
            await self._audit_user(
                session, user_id=found.user_id, tenant_id=tenant_id, action=Action.login_failed
            )


async def profile(session: AsyncSession, *, user: AuthUser) -> tuple[User, Tenant]:
    """The signed-in user and their tenant; 401 once the account is gone."""
    found = await users.get_user_and_tenant(session, tenant_id=user.tenant_id, user_id=user.id)
    if found is None:
        raise Unauthorized("the account no longer exists", code="invalid_token")
    return found


async def list_users(session: AsyncSession, *, admin: AuthUser) -> list[User]:
    return await users.list_users(session, tenant_id=admin.tenant_id)
