"""The web console's files served by the ingress beside the API (serve_app/console.py).

A small build folder of the same shape as Vite's (``index.html``, hashed ``assets/``, top-level
public files) stands in for ``web/dist``; the real build is driven in Chromium by
``tests/test_console_e2e.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from fluently.settings import Settings
from tests.support import app_client

INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script>'


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    (dist / "assets").mkdir()
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-abc123.js").write_text("console.log('fluently')")
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (dist.parent / "secret.txt").write_text("not for the web")
    return dist


@pytest.fixture(scope="module")
async def web(settings: Settings, build: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings.model_copy(update={"console_dir": build})) as c:
        yield c


HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


class TestConsolePages:
    async def test_root_is_the_console_revalidated_on_every_load(
        self, web: httpx.AsyncClient
    ) -> None:
        r = await web.get("/", headers=HTML)
        assert r.status_code == 200
        assert r.text == INDEX
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["cache-control"] == "no-cache"

    async def test_a_console_address_survives_a_reload(self, web: httpx.AsyncClient) -> None:
        r = await web.get("/app/recordings/2b1c7c4e-0000-4000-8000-000000000000", headers=HTML)
        assert r.status_code == 200
        assert r.text == INDEX

    async def test_hashed_assets_are_cached_for_a_year(self, web: httpx.AsyncClient) -> None:
        r = await web.get("/assets/index-abc123.js")
        assert r.status_code == 200
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"

    async def test_a_missing_asset_is_a_json_404_not_the_page(self, web: httpx.AsyncClient) -> None:
        r = await web.get("/assets/index-gone.js", headers=HTML)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"

    async def test_top_level_public_files_are_served(self, web: httpx.AsyncClient) -> None:
        r = await web.get("/favicon.svg")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("image/svg+xml")

    async def test_nothing_outside_the_build_is_served(self, web: httpx.AsyncClient) -> None:
        for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
            r = await web.get(path)
            assert "not for the web" not in r.text, path


class TestApiPathsUnchanged:
    async def test_unknown_api_path_stays_a_json_404_for_a_browser(
        self, web: httpx.AsyncClient
    ) -> None:
        r = await web.get("/audio_recordings/abc/nothing-here", headers=HTML)
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"

    async def test_api_routes_still_ask_for_a_token(self, web: httpx.AsyncClient) -> None:
        r = await web.get("/clients", headers=HTML)
        assert r.status_code == 401
        assert "error" in r.json()

    async def test_wrong_method_is_still_405(self, web: httpx.AsyncClient) -> None:
        r = await web.get("/auth/login", headers=HTML)
        assert r.status_code == 405

    async def test_unknown_path_without_html_is_a_json_404(self, web: httpx.AsyncClient) -> None:
        r = await web.get("/no-such-thing", headers={"Accept": "application/json"})
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"

    async def test_posts_never_fall_back_to_the_page(self, web: httpx.AsyncClient) -> None:
        r = await web.post("/app/clients", headers=HTML)
        assert r.status_code in (404, 405)
        assert "error" in r.json()


class TestNotBuilt:
    async def test_root_explains_how_to_build(self, settings: Settings, tmp_path: Path) -> None:
        missing = tmp_path / "no-dist"
        async with app_client(settings.model_copy(update={"console_dir": missing})) as c:
            r = await c.get("/", headers=HTML)
            assert r.status_code == 404
            body = r.json()["error"]
            assert body["code"] == "console_not_built"
            assert "npm run build" in body["message"]
            assert (await c.get("/assets/index-abc123.js")).status_code == 404
            assert (await c.get("/healthz")).status_code == 200
