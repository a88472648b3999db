"""Security headers on every response: no sniffing, no framing, no referrer, no caching of auth
and clinical data, a Content-Security-Policy the web console can live with, and HSTS over https.
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_LOCKED_DOWN = (
    "frame-ancestors 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
)
APP_POLICY = "; ".join(("default-src 'self'", "media-src 'self' blob:", *_LOCKED_DOWN))
"""Scripts, styles and everything else only from this origin, never inline: a console served
from ``/`` ships its scripts as files (a Vite build does). Audio may also play from ``blob:``
URLs: the console fetches a recording with its bearer token, which an ``<audio src>`` cannot
send, and plays the Blob."""
DOCS_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
        "font-src 'self' https://fonts.gstatic.com",
        "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly",
        "worker-src 'self' blob:",
        *_LOCKED_DOWN,
    )
)
"""Only for FastAPI's ``/docs`` and ``/redoc`` pages, which load Swagger UI and ReDoc from a CDN
and start them with an inline script; they show our own OpenAPI schema, no user data."""
HSTS = "max-age=31536000"
"""One year; sent only on responses to https requests (browsers ignore it over http)."""


def _headers(scope: Scope, docs_paths: Collection[str]) -> dict[str, str]:
    headers = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Content-Security-Policy": DOCS_POLICY if scope["path"] in docs_paths else APP_POLICY,
        # Auth responses and clinical data must not sit in browser or proxy caches; a route
        # that may be cached says so with a Cache-Control of its own.
        "Cache-Control": "no-store",
    }
    if scope["scheme"] == "https":
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeadersMiddleware:
    """Adds the headers to each response's start, so streamed bodies (SSE) still stream.

    A header the route already set wins, so a route can choose its own ``Cache-Control``.
    ``scope["scheme"]`` is https only on TLS connections or from a trusted proxy that says so
    (``TRUSTED_PROXIES``), so HSTS cannot be switched on by a client's ``X-Forwarded-Proto``.
    """

    def __init__(self, app: ASGIApp, *, docs_paths: Collection[str] = ()) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _headers(scope, self.docs_paths)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message.get("headers", [])))
                for name, value in extra.items():
                    headers.setdefault(name, value)
                message["headers"] = headers.raw
            await send(message)

        await self.app(scope, receive, send_with_headers)
