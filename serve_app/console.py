"""The web console's built files (``web/dist``, made by ``make run``) served beside the API.

Hashed assets are cached for a year (a new build has new names); ``index.html`` is revalidated
on every load so a new build is picked up at once. A GET for a path the API does not have, from
a browser asking for HTML, gets ``index.html``, so the console's own addresses (``/app/…``)
survive a reload. Paths under the API's prefixes keep answering JSON errors, 405s included:
the fallback is the router's ``default``, which runs only when no route matched at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import anyio
from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from serve_app.errors import error_response

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
NOT_BUILT = (
    "The web console is not built: run `make run`, or `cd web && npm ci && npm run build`, "
    "then reload. The API is unaffected."
)


class _HashedAssets(StaticFiles):
    """Vite's ``assets/`` folder: every name carries a content hash, so it never changes."""

    async def check_config(self) -> None:
        """No build yet is a 404 per file (``NOT_BUILT`` at ``/``), not a 500."""
        if self.directory is not None and await anyio.to_thread.run_sync(
            os.path.isdir, self.directory
        ):
            await super().check_config()

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        if response.status_code == 200:
            response.headers["Cache-Control"] = IMMUTABLE
        return response


class ConsoleFallback:
    """What the router runs when no route matched: the console's files, else a JSON 404."""

    def __init__(self, directory: Path, *, api_prefixes: frozenset[str], not_found: ASGIApp):
        self.directory = directory
        self.api_prefixes = api_prefixes
        self.not_found = not_found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self._response(scope) if scope["type"] == "http" else None
        if response is None:
            await self.not_found(scope, receive, send)
        else:
            await response(scope, receive, send)

    def _response(self, scope: Scope) -> Response | None:
        if scope["method"] not in ("GET", "HEAD"):
            return None
        path: str = scope["path"]
        if path.strip("/").split("/", 1)[0] in self.api_prefixes:
            return None
        top_level = self._top_level_file(path)
        if top_level is not None:
            return FileResponse(top_level, headers={"Cache-Control": REVALIDATE})
        if path != "/" and "text/html" not in Headers(scope=scope).get("accept", ""):
            return None
        index = self.directory / "index.html"
        if not index.is_file():
            return error_response(404, "console_not_built", NOT_BUILT)
        return FileResponse(index, media_type="text/html", headers={"Cache-Control": REVALIDATE})

    def _top_level_file(self, path: str) -> Path | None:
        """A file directly in the build folder (``/favicon.svg``); never a path that climbs."""
        name = path.lstrip("/")
        if not name or "/" in name or name.startswith(".") or os.sep in name:
            return None
        candidate = self.directory / name
        return candidate if candidate.is_file() else None


def _route_paths(routes: Iterable[BaseRoute]) -> Iterator[str]:
    """Every route's path, through included routers (FastAPI ≥ 0.120 keeps them as branches)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _route_paths(included.routes)
        else:
            yield str(getattr(route, "path", "")).strip("/")


def install_console(app: FastAPI, directory: Path) -> None:
    """Serve the console from ``directory``; call after every API router is included."""
    api_prefixes = frozenset(
        path.strip("/").split("/", 1)[0] for path in _route_paths(app.router.routes) if path
    )
    app.mount(
        "/assets", _HashedAssets(directory=directory / "assets", check_dir=False), name="assets"
    )
    app.router.default = ConsoleFallback(
        directory, api_prefixes=api_prefixes | {"assets"}, not_found=app.router.not_found
    )
