"""Session-wide real components: an embedded Postgres migrated by Alembic, the app in-process.

Expensive things start once per session; tests isolate themselves with fresh tenants.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from psycopg import sql
from pydantic import SecretStr

from db.session import Sessions
from fluently.bootstrap import embedded_server, prepare_database
from fluently.launcher import free_port
from fluently.settings import Environment, Settings
from fluently.storage import StorageProvider, make_storage
from tests.fake_providers import FakeProviders
from tests.platform import Platform
from tests.processed import seeding_sessions
from tests.support import app_client, client_of, running


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


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeProviders]:
    """Groq and Azure OpenAI as a loopback server speaking their real protocols."""
    with FakeProviders() as server:
        yield server


@pytest.fixture(scope="session")
def superuser_conninfo(settings: Settings) -> str:
    """For tests that inspect every tenant's rows at once (RLS does not apply to superusers)."""
    from db.embedded import DATABASE

    return embedded_server(settings).superuser_conninfo(DATABASE)


@pytest.fixture
def scratch_database(settings: Settings) -> Iterator[str]:
    """The SQLAlchemy URL of a new, empty database on the session's server, dropped afterwards.

    Migration tests go up and down here, so the session's database (and every other test's
    rows) is never touched. As in production, the schema owner runs the migrations (forced
    row-level security applies to it); it is reached over the server's socket as the superuser
    acting as that role, since only the main database takes the roles' TCP logins.
    """
    from db.embedded import APP_ROLE, OWNER_ROLE

    server = embedded_server(settings)
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.superuser_conninfo(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(OWNER_ROLE)
            )
        )
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(name), sql.Identifier(APP_ROLE)
            )
        )
    with psycopg.connect(server.superuser_conninfo(name), autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(OWNER_ROLE)))
    info = psycopg.conninfo.conninfo_to_dict(server.superuser_conninfo(name))
    yield (
        f"postgresql+psycopg://postgres@/{name}?host={info['host']}&port={info['port']}"
        f"&options=-crole%3D{OWNER_ROLE}"
    )
    with psycopg.connect(server.superuser_conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def app_db(app_conninfo: str) -> Iterator[psycopg.Connection]:
    """A connection as the app role (RLS applies), rolled back after the test."""
    with psycopg.connect(app_conninfo) as conn:
        yield conn
        conn.rollback()


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real FastAPI app, in-process, with its lifespan (engine, pool) running.

    Every test signs up its own tenant from this one client address, so the per-IP signup
    limit is raised here (tests/test_auth_*.py check the limits on apps of their own).
    """
    raised = settings.auth.model_copy(update={"signup_limit_per_ip": 100_000})
    async with app_client(settings.model_copy(update={"auth": raised})) as c:
        yield c


@pytest.fixture(scope="module")
async def sessions(settings: Settings) -> AsyncIterator[Sessions]:
    """App-role sessions (RLS applies) for seeding what the pipeline and reviews would write."""
    async with seeding_sessions(settings) as made:
        yield made


@pytest.fixture(scope="module")
def storage(settings: Settings) -> StorageProvider:
    """The storage the in-process app and the platform share."""
    return make_storage(settings)


@pytest.fixture(scope="module")
async def ingress(settings: Settings) -> AsyncIterator[FastAPI]:
    async with running(settings) as instance:
        yield instance


@pytest.fixture
async def visitor(ingress: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the in-process app from an address no other test uses."""
    async with client_of(ingress) as client:
        yield client


PLATFORM_ENV = {
    "JOBS__LEASE_S": "8",
    "JOBS__HEARTBEAT_S": "2",
    "JOBS__POLL_INTERVAL_S": "2",
    "JOBS__BACKOFF_BASE_S": "0.5",
    "JOBS__BACKOFF_MAX_S": "2",
    "JOBS__MAX_ATTEMPTS": "3",
    # Every test client comes from 127.0.0.1 and the hits live for the whole session.
    "AUTH__SIGNUP_LIMIT_PER_IP": "100000",
    "AUTH__LOGIN_LIMIT_PER_IP": "100000",
}


def platform_env(settings: Settings) -> dict[str, str]:
    """What a Serve subprocess needs to share this session's database and data directory."""
    assert settings.database_url and settings.database_admin_url and settings.jwt_secret
    return {
        "FLUENTLY_ENV": settings.environment.value,
        "FLUENTLY_DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": settings.database_url.get_secret_value(),
        "DATABASE_ADMIN_URL": settings.database_admin_url.get_secret_value(),
        "JWT_SECRET": settings.jwt_secret.get_secret_value(),
        **PLATFORM_ENV,
    }


@pytest.fixture(scope="session")
def platform(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The whole platform under ``serve run`` on a real local Ray, started once per session."""
    instance = Platform(
        env=platform_env(settings), port=free_port(), workdir=tmp_path_factory.mktemp("serve")
    )
    # Two ingress replicas, so what must be shared (rate limits, events) is shared.
    instance.start(overrides={"Ingress": {"num_replicas": 2}})
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
async def api(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform.url, timeout=60) as c:
        yield c
