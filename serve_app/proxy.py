"""What Serve's HTTP proxy answers when the Ingress replica it chose dies mid-request.

Serve's proxy turns a replica that dies (``RayActorError``) into status 500 and sends nothing, so
the client gets uvicorn's bare ``500 Internal Server Error`` although nothing is wrong with the
request and another replica (or the replacement Serve starts) would answer it. Its own 503 for a
deployment with no replica yet carries no ``Retry-After``. ``proxy_middlewares`` is the
``RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH`` callback (``serve_config.yaml``) that wraps the
proxy so both become ``503 upstream_unavailable`` with ``Retry-After``, which clients retry.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serve_app import receive_buffers
from serve_app.errors import RETRY_AFTER_S, error_response


class UnavailableUpstream:
    """An HTTP request that ends without an answer from the app is answered 503 here; a 503
    without ``Retry-After`` gets one. An answer that had begun is left as it is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if message["status"] == 503:
                    message = _with_retry_after(message)
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:
                raise
        if not started:
            await unavailable()(scope, receive, send)


def unavailable() -> ASGIApp:
    return error_response(
        503,
        "upstream_unavailable",
        "the server restarted while answering; try again shortly",
        {"Retry-After": str(RETRY_AFTER_S)},
    )


def _with_retry_after(message: Message) -> Message:
    headers = list(message.get("headers", []))
    if not any(name.lower() == b"retry-after" for name, _ in headers):
        headers.append((b"retry-after", str(RETRY_AFTER_S).encode()))
    return {**message, "headers": headers}


def proxy_middlewares() -> list[Middleware]:
    """The ``RAY_SERVE_HTTP_PROXY_CALLBACK_IMPORT_PATH`` callback: Serve calls it once, in each
    proxy, before it serves, and wraps its HTTP app in what it returns. It is also where the
    proxy's request bodies get their bound (``serve_app.receive_buffers``)."""
    receive_buffers.install_in_proxy()
    return [Middleware(UnavailableUpstream)]
