"""Bring the database to a usable state: embedded server if needed, migrations at head."""

from __future__ import annotations

from pydantic import SecretStr

from db import migrate
from db.embedded import APP_ROLE, EmbeddedPostgres
from fluently.logging import get_logger
from fluently.settings import Settings

log = get_logger("bootstrap")


def embedded_server(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(settings.data_dir, port=settings.embedded_pg_port)


def app_role_name(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    if settings.database_url is None:
        return APP_ROLE
    return make_url(settings.database_url.get_secret_value()).username or APP_ROLE


def prepare_database(settings: Settings, *, run_migrations: bool = True) -> Settings:
    """Return settings whose ``database_url``/``database_admin_url`` point at a migrated DB.

    Without ``DATABASE_URL`` the embedded server under the data directory is started (data
    persists across restarts). With it, migrations run as ``DATABASE_ADMIN_URL`` when given.
    Also fixes the JWT secret so every replica signs with the same key.
    """
    update: dict[str, object] = {"jwt_secret": SecretStr(settings.signing_secret())}
    if settings.database_url is None:
        urls = embedded_server(settings).start()
        update["database_url"] = SecretStr(urls.app)
        update["database_admin_url"] = SecretStr(urls.admin)
    resolved = settings.model_copy(update=update)
    if run_migrations and resolved.database_admin_url is not None:
        assert resolved.database_url is not None
        migrate.upgrade(
            resolved.database_admin_url.get_secret_value(), app_role=app_role_name(resolved)
        )
        log.info("database migrated to head")
    return resolved
