"""Sign up, log in, refresh and log out; the refresh token lives only in an HttpOnly cookie."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import APIRouter, Cookie, Request, Response

from fluently.settings import Settings
from serve_app.deps import AuthServiceDep, ClientIP, CurrentUser, SettingsDep, TenantSession
from serve_app.schemas import Login, Me, SessionOut, Signup, UserOut
from serve_app.services import auth as service
from serve_app.services.auth import IssuedSession

REFRESH_COOKIE = "refresh_token"
COOKIE_PATH = "/auth"

RefreshCookie = Annotated[str | None, Cookie(alias=REFRESH_COOKIE)]


router = APIRouter(prefix="/auth", tags=["auth"])


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _cookie_is_secure(request: Request, settings: Settings) -> bool:
    """Secure everywhere except plain-http development on this machine."""
    return not (settings.is_development and _is_loopback(request.url.hostname or ""))


def _answer(
    issued: IssuedSession, *, request: Request, response: Response, settings: Settings
) -> SessionOut:
    response.set_cookie(
        REFRESH_COOKIE,
        issued.refresh_token,
        max_age=settings.auth.refresh_token_ttl_s,
        path=COOKIE_PATH,
        secure=_cookie_is_secure(request, settings),
        httponly=True,
        samesite="strict",
    )
    return SessionOut(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        user=UserOut.model_validate(issued.user),
    )


@router.post("/signup", status_code=201)
async def signup(
    body: Signup,
    request: Request,
    response: Response,
    auth: AuthServiceDep,
    settings: SettingsDep,
    client_ip: ClientIP,
) -> SessionOut:
    """Create a tenant (clinic) and its first admin user, and sign that user in."""
    issued = await auth.signup(
        tenant_name=body.tenant_name,
        email=body.email,
        password=body.password,
        client_ip=client_ip,
    )
    return _answer(issued, request=request, response=response, settings=settings)


@router.post("/login")
async def login(
    body: Login,
    request: Request,
    response: Response,
    auth: AuthServiceDep,
    settings: SettingsDep,
    client_ip: ClientIP,
) -> SessionOut:
    """Exchange an email and password for an access token and a refresh cookie.

    Repeated failures from one address are refused with 429; an account that many addresses
    get wrong answers a few seconds more slowly, but is never locked.
    """
    issued = await auth.login(email=body.email, password=body.password, client_ip=client_ip)
    return _answer(issued, request=request, response=response, settings=settings)


@router.post("/refresh")
async def refresh(
    request: Request,
    response: Response,
    auth: AuthServiceDep,
    settings: SettingsDep,
    client_ip: ClientIP,
    refresh_token: RefreshCookie = None,
) -> SessionOut:
    """Exchange the refresh cookie for a new access token and a new refresh cookie.

    Each refresh token works once; presenting a used one signs out every session of its login.
    """
    issued = await auth.refresh(refresh_token=refresh_token, client_ip=client_ip)
    return _answer(issued, request=request, response=response, settings=settings)


@router.post("/logout", status_code=204)
async def logout(
    request: Request,
    auth: AuthServiceDep,
    settings: SettingsDep,
    refresh_token: RefreshCookie = None,
) -> Response:
    """Revoke this login's refresh tokens and clear the cookie. Access tokens live on until
    they expire, at most ``expires_in`` seconds.
    """
    await auth.logout(refresh_token=refresh_token)
    response = Response(status_code=204)
    response.delete_cookie(
        REFRESH_COOKIE,
        path=COOKIE_PATH,
        secure=_cookie_is_secure(request, settings),
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/me")
async def me(user: CurrentUser, session: TenantSession) -> Me:
    """The signed-in user and their tenant."""
    account, tenant = await service.profile(session, user=user)
    return Me(**UserOut.model_validate(account).model_dump(), tenant_name=tenant.name)
