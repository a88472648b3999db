"""What every request meets before a route: its request id and log line, and the Host check.

Request ids are taken from ``X-Request-ID`` or generated, put on every log line, echoed back.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Collection

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fluently.logging import get_logger, request_id_var, tenant_id_var
from serve_app.errors import error_response
from serve_app.metrics import LATENCY, REQUESTS

log = get_logger("http")
CLIENT_CLOSED = 499
"""Counted and logged for a request whose client went away before it was answered (nginx's
code): Serve cancels it, and no server error happened."""
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    """``echo=False`` under Serve: its proxy already sets and echoes ``X-Request-ID``."""

    def __init__(self, app: ASGIApp, *, echo: bool = True) -> None:
        self.app = app
        self.echo = echo

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        rid_token = request_id_var.set(request_id)
        tid_token = tenant_id_var.set(None)
        started = time.perf_counter()
        status: int | None = None  # until the response starts

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if self.echo:
                    headers = [
                        (k, v) for k, v in message.get("headers", []) if k != b"x-request-id"
                    ]
                    headers.append((b"x-request-id", request_id.encode("latin-1")))
                    message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except asyncio.CancelledError:
            status = CLIENT_CLOSED if status is None else status
            raise
        finally:
            status = 500 if status is None else status  # the app raised before answering
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            REQUESTS.labels(scope["method"], template, str(status)).inc()
            LATENCY.labels(scope["method"], template).observe(elapsed)
            client = scope.get("client")
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "client": client[0] if client else None,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
            tenant_id_var.reset(tid_token)
            request_id_var.reset(rid_token)


def host_name(host_header: str) -> str:
    """``Host`` without its port or final dot, lower case: ``API.Clinic.example.:443`` ->
    ``api.clinic.example``; IPv6 addresses keep their brackets."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return (host.rpartition(":")[0] if ":" in host else host).rstrip(".")


class AllowedHostsMiddleware:
    """400 ``invalid_host`` for a ``Host`` not in ``ALLOWED_HOSTS``; no check when that is empty.

    ``*.clinic.example`` allows every subdomain of ``clinic.example`` (not the name itself).
    The API builds no absolute URL from ``Host``; the check is defence in depth against DNS
    rebinding and against a proxy that routes any name here.
    """

    def __init__(self, app: ASGIApp, *, allowed_hosts: Collection[str]) -> None:
        self.app = app
        names = {name.strip().lower() for name in allowed_hosts}
        self.exact = frozenset(name for name in names if not name.startswith("*."))
        self.suffixes = tuple(name[1:] for name in names if name.startswith("*."))

    def allows(self, host_header: str) -> bool:
        name = host_name(host_header)
        return name in self.exact or (bool(name) and name.endswith(self.suffixes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        checked = scope["type"] == "http" and (self.exact or self.suffixes)
        if not checked or self.allows(Headers(scope=scope).get("host", "")):
            await self.app(scope, receive, send)
            return
        response = error_response(400, "invalid_host", "this API is not served under that host")
        await response(scope, receive, send)


HEAD_ONLY = "fluently.head_only"
"""Set (``True``) in the scope of a ``HEAD`` that ``HeadAsGetMiddleware`` runs as ``GET``: what
reads it (the audit) knows that no content will be sent."""


class _HeadAnswered(Exception):
    """Raised into a route that goes on sending content after a ``HEAD``'s answer ended."""


class HeadAsGetMiddleware:
    """``HEAD`` answers as ``GET`` would, without the content (RFC 9110, 9.3.2: every
    general-purpose server supports both). FastAPI routes ``GET`` only, so a ``HEAD`` got 405,
    and uptime monitors, download managers and media players ask ``HEAD`` first.

    The request goes on as ``GET``; its answer's start (status, headers, ``Content-Length``,
    ``ETag``) is sent as it is, then one empty body that ends the answer. A route with more to
    send (a stream: the audio, a client's export, an event stream) is stopped there, at its
    first piece: under Serve nothing else would stop it before the client's connection closes,
    so the whole file was read, the whole zip built, or the database polled for nothing. The
    method is set back to ``HEAD`` once the route is done, so the request is logged and counted
    as the ``HEAD`` it was; meanwhile the scope holds ``HEAD_ONLY``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        ended = False

        async def headers_only(message: Message) -> None:
            nonlocal ended
            if message["type"] == "http.response.start":
                await send(message)
                return
            if not ended:
                ended = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            if message.get("more_body", False):
                raise _HeadAnswered

        scope["method"] = "GET"
        scope[HEAD_ONLY] = True
        try:
            await self.app(scope, receive, headers_only)
        except* _HeadAnswered:
            pass  # a stream stopped after the answer ended; an error beside it goes on up
        finally:
            scope["method"] = "HEAD"
