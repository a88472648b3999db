"""``fluently``: the operator's command line (``fluently up``, ``fluently migrate``, ...)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

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
from fluently.settings import Settings

log = get_logger("cli")
REPO_CONFIG = Path("serve_config.yaml")


def cmd_up(args: argparse.Namespace) -> int:
    settings = Settings()
    started_embedded = settings.database_url is None
    resolved = prepare_database(settings)
    assert resolved.database_url is not None and resolved.jwt_secret is not None
    extra = {
        "DATABASE_URL": resolved.database_url.get_secret_value(),
        "JWT_SECRET": resolved.jwt_secret.get_secret_value(),
        "FLUENTLY_DATA_DIR": str(resolved.data_dir),
    }
    if resolved.database_admin_url is not None:
        extra["DATABASE_ADMIN_URL"] = resolved.database_admin_url.get_secret_value()
    config = write_serve_config(
        Path(args.config),
        resolved.data_dir / "serve_config.yaml",
        host=resolved.host,
        port=resolved.port,
    )
    child = start_serve(config, env=serve_env(extra))

    stopping = False

    def _stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    url = f"http://{resolved.host}:{resolved.port}"
    try:
        if wait_ready(url, child, timeout_s=args.ready_timeout, stopping=lambda: stopping):
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
        if started_embedded:
            embedded_server(resolved).stop()
            log.info("embedded postgres stopped")
    return 0 if stopping else (child.returncode or 0)


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = Settings()
    if args.revision != "head" and settings.database_url is None:
        resolved = prepare_database(settings, run_migrations=False)
    else:
        resolved = prepare_database(settings, run_migrations=args.revision == "head")
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
        urls = server.start()
        print(urls.app)
    elif args.action == "stop":
        server.stop()
    else:
        print(server.urls().app if server.is_running() else "stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fluently", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start Postgres, migrate, start Ray and the Serve app")
    up.add_argument("--config", default=str(REPO_CONFIG), help="Serve config file")
    up.add_argument("--ready-timeout", type=float, default=READY_TIMEOUT_S)
    up.set_defaults(func=cmd_up)
    mig = sub.add_parser("migrate", help="run Alembic migrations (default: to head)")
    mig.add_argument("revision", nargs="?", default="head")
    mig.add_argument("--down", action="store_true", help="downgrade to REVISION (e.g. base)")
    mig.set_defaults(func=cmd_migrate)
    db = sub.add_parser("db", help="manage the embedded Postgres")
    db.add_argument("action", choices=["start", "stop", "status"])
    db.set_defaults(func=cmd_db)
    args = parser.parse_args(argv)
    configure_logging(os.environ.get("FLUENTLY_LOG_LEVEL", "INFO"))
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
