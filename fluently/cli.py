"""``fluently``: the operator's command line (``fluently up``, ``fluently migrate``, ...)."""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy.engine import make_url

from db import migrate
from fluently.bootstrap import app_role_name, embedded_server, prepare_database
from fluently.launcher import (
    READY_TIMEOUT_S,
    serve_env,
    start_serve,
    stop_serve,
    wait_ready,
    write_serve_config,
)
from fluently.logging import configure_logging, get_logger
from fluently.settings import Settings, settings_problems

log = get_logger("cli")
REPO_CONFIG = Path("serve_config.yaml")
DESCRIPTION = """Fluently's operator commands. Settings come from the environment (README,
"Settings"); without DATABASE_URL an embedded Postgres under FLUENTLY_DATA_DIR is used."""


class Refused(Exception):
    """A command that cannot go ahead, for a reason the operator can act on."""


def _check_port_free(host: str, port: int) -> None:
    """Refuse when something already listens on ``host:port``: another ``fluently up`` there
    would answer this one's readiness check, and Serve's proxy would share the port with it.
    Any other failure to bind (an address this machine does not have) is left for Serve to
    report."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    continue
                raise Refused(
                    f"{host}:{port} is in use: is Fluently already running there? Stop it, or "
                    "set FLUENTLY_PORT to run another (on the same database: leave "
                    "FLUENTLY_DATA_DIR, or DATABASE_URL, as it is)"
                ) from None


@contextmanager
def _database(settings: Settings, *, run_migrations: bool = True) -> Iterator[Settings]:
    """``prepare_database``'s settings; on the way out the embedded Postgres is stopped if this
    started it. One already running (another instance's, or ``fluently db start``'s) is left
    to whoever started it."""
    started = settings.database_url is None and not embedded_server(settings).is_running()
    resolved = prepare_database(settings, run_migrations=run_migrations)
    try:
        yield resolved
    finally:
        if started:
            embedded_server(resolved).stop()
            log.info("embedded postgres stopped")


def cmd_up(args: argparse.Namespace) -> int:
    settings = Settings()
    _check_port_free(settings.host, settings.port)
    with _database(settings) as resolved:
        return _serve(resolved, config=Path(args.config), ready_timeout_s=args.ready_timeout)


def _serve(resolved: Settings, *, config: Path, ready_timeout_s: float) -> int:
    """``serve run`` on the prepared database until it exits or Ctrl-C."""
    assert resolved.database_url is not None and resolved.jwt_secret is not None
    extra = {
        "DATABASE_URL": resolved.database_url.get_secret_value(),
        "JWT_SECRET": resolved.jwt_secret.get_secret_value(),
        "FLUENTLY_DATA_DIR": str(resolved.data_dir),
    }
    if resolved.database_admin_url is not None:
        extra["DATABASE_ADMIN_URL"] = resolved.database_admin_url.get_secret_value()
    written = write_serve_config(
        config,
        resolved.data_dir / "serve_config.yaml",
        host=resolved.host,
        port=resolved.port,
    )
    child = start_serve(written, env=serve_env(extra))

    stopping = False

    def _stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    url = f"http://{resolved.host}:{resolved.port}"
    try:
        if wait_ready(url, child, timeout_s=ready_timeout_s, stopping=lambda: stopping):
            print(
                f"\nFluently is up: {url}  (API docs: {url}/docs). Ctrl-C stops it.\n", flush=True
            )
        elif child.poll() is None and not stopping:
            log.warning("platform not ready yet; still starting", extra={"url": url})
        while child.poll() is None and not stopping:
            time.sleep(0.5)
    finally:
        log.info("stopping")
        stop_serve(child)
    return 0 if stopping else (child.returncode or 0)


def cmd_migrate(args: argparse.Namespace) -> int:
    with _database(Settings(), run_migrations=args.revision == "head") as resolved:
        if args.revision != "head":
            assert resolved.database_admin_url is not None
            admin = resolved.database_admin_url.get_secret_value()
            role = app_role_name(resolved)
            if args.down:
                migrate.downgrade(admin, app_role=role, revision=args.revision)
            else:
                migrate.upgrade(admin, app_role=role, revision=args.revision)
    print(f"migrated ({'down to' if args.down else 'up to'} {args.revision})")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    settings = Settings()
    if settings.database_url is not None:
        print("DATABASE_URL is set: the embedded server is not used", file=sys.stderr)
        return 2
    server = embedded_server(settings)
    if args.action == "start":
        server.start()
    elif args.action == "stop":
        server.stop()
    if server.is_running():
        url = make_url(server.urls().app).render_as_string(hide_password=True)
        print(f"running: {url} (passwords in {server.credentials_path})")
    else:
        print("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fluently", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser(
        "up",
        help="start Postgres, migrate, start Ray and the Serve app",
        description="Start the whole platform on http://FLUENTLY_HOST:FLUENTLY_PORT "
        "(127.0.0.1:8000) and keep it up until Ctrl-C.",
    )
    up.add_argument(
        "--config",
        default=str(REPO_CONFIG),
        help="Serve config file, its HTTP host and port replaced from the settings "
        "(default: %(default)s)",
    )
    up.add_argument(
        "--ready-timeout",
        type=float,
        default=READY_TIMEOUT_S,
        metavar="SECONDS",
        help="how long to wait for /readyz before saying the platform is still starting "
        "(default: %(default)g)",
    )
    up.set_defaults(func=cmd_up)
    mig = sub.add_parser("migrate", help="run Alembic migrations (default: to head)")
    mig.add_argument("revision", nargs="?", default="head")
    mig.add_argument("--down", action="store_true", help="downgrade to REVISION (e.g. base)")
    mig.set_defaults(func=cmd_migrate)
    db = sub.add_parser("db", help="manage the embedded Postgres")
    db.add_argument(
        "action",
        choices=["start", "stop", "status"],
        help="each prints whether it is running, and where (password hidden)",
    )
    db.set_defaults(func=cmd_db)
    args = parser.parse_args(argv)
    configure_logging(os.environ.get("FLUENTLY_LOG_LEVEL", "INFO"))
    try:
        code: int = args.func(args)
    except (ValidationError, SettingsError) as error:
        problems = "\n".join(f"  {problem}" for problem in settings_problems(error))
        print(f"fluently: invalid settings in the environment:\n{problems}", file=sys.stderr)
        return 2
    except Refused as error:
        print(f"fluently: {error}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
