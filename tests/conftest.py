"""Session-wide real components: an embedded Postgres migrated by Alembic, the app in-process.

Expensive things start once per session; tests isolate themselves with fresh tenants.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from pydantic import SecretStr

from fluently.bootstrap import embedded_server, prepare_database
from fluently.settings import Environment, Settings
from serve_app.app import create_app

SHARED_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("fluently-data")
    return Settings.model_validate(
        {
            "FLUENTLY_ENV": Environment.test,
            "FLUENTLY_DATA_DIR": data_dir,
            "FLUENTLY_PG_PORT": free_port(),
            "JWT_SECRET": "test-secret-" + "x" * 40,
        }
    )


@pytest.fixture(scope="session")
def settings(base_settings: Settings) -> Iterator[Settings]:
    """Settings pointing at a running, migrated embedded Postgres."""
    resolved = prepare_database(base_settings)
    yield resolved
    embedded_server(resolved).stop()


def plain_url(url: SecretStr | None) -> str:
    """A SQLAlchemy URL as libpq understands it."""
    assert url is not None
    return url.get_secret_value().replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def app_conninfo(settings: Settings) -> str:
    return plain_url(settings.database_url)


@pytest.fixture(scope="session")
def admin_conninfo(settings: Settings) -> str:
    return plain_url(settings.database_admin_url)


@pytest.fixture
def app_db(app_conninfo: str) -> Iterator[psycopg.Connection]:
    """A connection as the app role (RLS applies), rolled back after the test."""
    with psycopg.connect(app_conninfo) as conn:
        yield conn
        conn.rollback()


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real FastAPI app, in-process, with its lifespan (engine, pool) running."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def new_id() -> uuid.UUID:
    return uuid.uuid4()
