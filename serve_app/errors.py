"""Maps every error to ``{"error": {code, message}}`` in one place."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from ray.exceptions import RayActorError
from ray.serve.exceptions import (
    BackPressureError,
    DeploymentUnavailableError,
    ReplicaUnavailableError,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fluently.errors import FluentlyError, UpstreamUnavailable
from fluently.logging import get_logger

log = get_logger("http")

RETRY_AFTER_S = 1
"""What a 503 for a dead or restarting replica tells clients to wait: Serve routes to another
replica, or starts a new one, within a few seconds, and clients retry with a cap of their own."""

TRANSIENT_DEPLOYMENT_ERRORS: tuple[type[Exception], ...] = (
    RayActorError,
    ReplicaUnavailableError,
    DeploymentUnavailableError,
    BackPressureError,
)
"""What a deployment handle raises when the replica it chose died (``ActorDiedError``), cannot
be reached (``ActorUnavailableError``), or none can take the call yet. An exception raised by
the deployment's own code arrives as ``RayTaskError`` instead and stays a 500."""

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FluentlyError)
    async def _fluently(_: Request, exc: FluentlyError) -> JSONResponse:
        headers = exc.headers() or None
        if exc.status_code >= 500:
            log.error("request failed", extra={"code": exc.code, "error": exc.message})
        return error_response(exc.status_code, exc.code, exc.message, headers)

    async def _transient(_: Request, exc: Exception) -> JSONResponse:
        log.warning("deployment unavailable", extra={"error": f"{type(exc).__name__}: {exc}"[:500]})
        answer = UpstreamUnavailable(
            "a service this request needs is restarting; try again shortly",
            retry_after_s=RETRY_AFTER_S,
        )
        return error_response(answer.status_code, answer.code, answer.message, answer.headers())

    for transient in TRANSIENT_DEPLOYMENT_ERRORS:
        app.add_exception_handler(transient, _transient)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "validation_error", _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = getattr(exc, "code", None) or _HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, code, str(exc.detail), headers)

    @app.exception_handler(Exception)
    async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "internal server error")


class UnhandledErrors:
    """Answers an exception no handler took with the usual 500 body, inside the app's own
    middleware, so the answer carries the security headers and the request id and is logged
    with its status like any other. (Starlette's own last resort sits outside all middleware.)

    A response that had already started (a stream) cannot be replaced: the error goes on up.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:
                raise
            log.exception("unhandled error")
            await error_response(500, "internal_error", "internal server error")(
                scope, receive, send
            )
