"""FastAPI dependencies as ``Annotated`` aliases, so route signatures read like sentences."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Role
from db.repositories.recordings import Viewer
from db.session import Sessions, tenant_session
from fluently.errors import Forbidden, Unauthorized
from fluently.logging import request_id_var, tenant_id_var
from fluently.settings import Settings
from serve_app.middleware import HEAD_ONLY
from serve_app.security import AccessTokens, AuthUser, Passwords
from serve_app.services.audit import Auditor
from serve_app.services.auth import AuthService
from serve_app.services.languages import TranscriptionLanguages
from serve_app.services.transcription import LocalTranscription
from serve_app.state import AppState


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.fluently
    return state


def get_settings(state: Annotated[AppState, Depends(get_state)]) -> Settings:
    return state.settings


def get_sessions(state: Annotated[AppState, Depends(get_state)]) -> Sessions:
    return state.sessions


StateDep = Annotated[AppState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionsDep = Annotated[Sessions, Depends(get_sessions)]


def get_client_ip(request: Request) -> str:
    """The client address, which rate limits key on: the TCP peer, unless the peer is one of
    ``TRUSTED_PROXIES``; then the right-most ``X-Forwarded-For`` address that is not itself a
    trusted proxy (``create_app`` resolves it once per request, for the log line too).

    Any client can write ``X-Forwarded-For``; only the hops our own proxies appended count.
    """
    return request.client.host if request.client is not None else "unknown"


def get_passwords(settings: SettingsDep) -> Passwords:
    """Sync, so FastAPI runs it in a worker thread: the first call computes the dummy hash."""
    return Passwords(settings.auth)


def get_access_tokens(settings: SettingsDep) -> AccessTokens:
    return AccessTokens.from_settings(settings)


ClientIP = Annotated[str, Depends(get_client_ip)]
PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
AccessTokensDep = Annotated[AccessTokens, Depends(get_access_tokens)]


def get_auth_service(
    sessions: SessionsDep,
    passwords: PasswordsDep,
    tokens: AccessTokensDep,
    settings: SettingsDep,
    auditor: AuditDep,
) -> AuthService:
    return AuthService(
        sessions=sessions,
        passwords=passwords,
        tokens=tokens,
        settings=settings.auth,
        auditor=auditor,
    )


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]

_bearer = HTTPBearer(auto_error=False, description="An access token from /auth/login.")


async def get_current_user(
    tokens: AccessTokensDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AuthUser:
    """The caller named by a valid ``Authorization: Bearer`` access token; 401 otherwise.

    Async so the tenant it sets for log lines lands in the request's own context.
    """
    if credentials is None:
        raise Unauthorized("a bearer access token is required", code="missing_token")
    user = tokens.verify(credentials.credentials)
    tenant_id_var.set(str(user.tenant_id))
    return user


CurrentUser = Annotated[AuthUser, Depends(get_current_user)]


async def get_admin_user(user: CurrentUser) -> AuthUser:
    if user.role is not Role.admin:
        raise Forbidden("this requires the admin role")
    return user


AdminUser = Annotated[AuthUser, Depends(get_admin_user)]


async def get_viewer(user: CurrentUser) -> Viewer:
    """The caller, as clients and recordings see them (``Viewer``'s rules)."""
    return Viewer(tenant_id=user.tenant_id, user_id=user.id, is_admin=user.role is Role.admin)


CurrentViewer = Annotated[Viewer, Depends(get_viewer)]


async def get_admin_viewer(admin: AdminUser) -> Viewer:
    """An admin, as repositories and the audit log see them; 403 for anyone else."""
    return Viewer(tenant_id=admin.tenant_id, user_id=admin.id, is_admin=True)


AdminViewer = Annotated[Viewer, Depends(get_admin_viewer)]


async def get_tenant_session(
    user: CurrentUser, sessions: SessionsDep
) -> AsyncIterator[AsyncSession]:
    """The request's transaction, scoped to the caller's tenant.

    Commits when the route returns and rolls back if it raises, before the response is sent
    (``scope="function"``), so a client never sees success for a write that failed to commit.
    """
    async with tenant_session(sessions, user.tenant_id) as session:
        yield session


TenantSession = Annotated[AsyncSession, Depends(get_tenant_session, scope="function")]


def get_recording_languages(state: StateDep) -> TranscriptionLanguages:
    return TranscriptionLanguages.for_recordings(settings=state.settings, local=state.transcriber)


def get_local_transcription(state: StateDep) -> LocalTranscription:
    """503 when the app runs without the transcriber deployment (outside Serve)."""
    return LocalTranscription.available(transcriber=state.transcriber, settings=state.settings)


RecordingLanguagesDep = Annotated[TranscriptionLanguages, Depends(get_recording_languages)]
LocalTranscriptionDep = Annotated[LocalTranscription, Depends(get_local_transcription)]


def get_auditor(request: Request, client_ip: ClientIP) -> Auditor:
    """The request's audit context; the request id is the one on every log line. A ``HEAD``
    (``HEAD_ONLY``) is audited as nothing read."""
    return Auditor(
        request_id=request_id_var.get(),
        client_ip=client_ip,
        discloses=not request.scope.get(HEAD_ONLY, False),
    )


AuditDep = Annotated[Auditor, Depends(get_auditor)]
