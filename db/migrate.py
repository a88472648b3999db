"""Run Alembic programmatically (``fluently migrate``) and check the schema is at head."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(admin_url: str, *, app_role: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", admin_url.replace("%", "%%"))
    config.set_main_option("app_role", app_role)
    return config


def upgrade(admin_url: str, *, app_role: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(admin_url, app_role=app_role), revision)


def downgrade(admin_url: str, *, app_role: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(admin_url, app_role=app_role), revision)


def head_revisions() -> set[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return set(ScriptDirectory.from_config(config).get_heads())


def is_at_head(connection: Connection) -> bool:
    """True when the database's applied revisions are exactly the code's heads."""
    current = set(MigrationContext.configure(connection).get_current_heads())
    return current == head_revisions()
