"""A bound on the request body a route reads whole.

A JSON route gets its body parsed by FastAPI before any check of the route's own runs: a 300 MB
``password`` sent to ``POST /auth/login``, before any sign-in, was read and parsed whole (the
Ingress replica grew from 417 MB to 1.5 GB) and only then refused for its length. Here reading
a body longer than its route takes fails with 413 ``body_too_large``: at the first read where
``Content-Length`` says so, before a byte is taken, and as soon as the bound is passed where the
body comes chunked. Nothing is read ahead: a route that never reads its body is not held up,
and the bound is the route's own, looked up once routing has put its endpoint in the scope.

The upload routes read their body as a stream and bound it themselves
(``serve_app.uploads``, ``UploadSettings.max_bytes``): they are marked ``body_limit(None)``.

FastAPI's own ``max_body_size`` (0.165) was tried first: it answers a body over its bound with a
plain-text "Content Too Large", outside the app's error handlers and, for a declared length,
outside its middleware, so without the error body every answer here has, the security headers
or the request id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON_BODY_BYTES = 1024 * 1024
"""The most body a route takes unless it says otherwise (``body_limit``): every JSON body the
API takes but an annotation is a few hundred bytes."""
_ATTRIBUTE = "__fluently_body_limit__"

Endpoint = TypeVar("Endpoint", bound=Callable[..., object])


def body_limit(limit: int | None) -> Callable[[Endpoint], Endpoint]:
    """Mark an endpoint as taking up to ``limit`` bytes of body, or, with ``None``, as reading
    its body as a stream and bounding it itself."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _ATTRIBUTE, limit)
        return endpoint

    return mark


class BodyTooLarge(HTTPException):
    """Raised from ``receive``: FastAPI passes an ``HTTPException`` met while reading a body on
    to the app's handlers (any other error becomes a 400), which answer with ``code``."""

    code = "body_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than this route takes ({limit} bytes)")


class BodyLimitMiddleware:
    """Reading more body than the route takes raises ``BodyTooLarge`` (module docstring); a
    request that reaches no route's endpoint gets ``default_bytes``."""

    def __init__(self, app: ASGIApp, *, default_bytes: int = JSON_BODY_BYTES) -> None:
        self.app = app
        self.default_bytes = default_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        read: int | None = None  # body bytes read, once the route and its bound are known

        async def bounded() -> Message:
            nonlocal read
            limit: int | None = getattr(scope.get("endpoint"), _ATTRIBUTE, self.default_bytes)
            if limit is None:
                return await receive()
            if read is None:  # the first read: the declared length, once
                declared = Headers(scope=scope).get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise BodyTooLarge(limit)
                read = 0
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, bounded, send)
