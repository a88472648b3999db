"""``fluently``: the operator's command line (``fluently up``, ``fluently migrate``, ...)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import yaml

from db import migrate
from fluently.bootstrap import app_role_name, embedded_server, prepare_database
from fluently.logging import configure_logging, get_logger
from fluently.settings import Settings

if TYPE_CHECKING:
    import psutil

log = get_logger("cli")
REPO_CONFIG = Path("serve_config.yaml")


def _serve_config(settings: Settings, source: Path) -> Path:
    """The Serve config with host/port from settings, written next to the data."""
    config = yaml.safe_load(source.read_text())
    config.setdefault("http_options", {}).update(host=settings.host, port=settings.port)
    target = settings.data_dir / "serve_config.yaml"
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    return target


def _wait_ready(
    url: str, child: subprocess.Popen[bytes], timeout_s: float, stopping: Callable[[], bool]
) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and child.poll() is None and not stopping():
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as resp:  # noqa: S310
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(1)
    return False


def stop_serve(child: subprocess.Popen[bytes], grace_s: float = 20.0) -> None:
    """SIGINT lets ``serve run`` shut Serve down; whatever is left of its Ray session is killed.

    Ray's own processes watch their parent and exit with it, but a replica stuck in shutdown
    must not outlive the platform, so every process of the child's session is reaped.
    """
    import psutil

    if child.poll() is None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    deadline = time.monotonic() + 10
    while True:
        left = [p for p in psutil.process_iter(["pid"]) if session_of(p) == child.pid]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def session_of(proc: psutil.Process) -> int | None:
    import psutil

    try:
        return os.getsid(proc.pid)
    except (OSError, psutil.Error):
        return None


def cmd_up(args: argparse.Namespace) -> int:
    settings = Settings()
    started_embedded = settings.database_url is None
    resolved = prepare_database(settings)
    assert resolved.database_url is not None and resolved.jwt_secret is not None
    env = dict(os.environ)
    env.update(
        DATABASE_URL=resolved.database_url.get_secret_value(),
        JWT_SECRET=resolved.jwt_secret.get_secret_value(),
        FLUENTLY_DATA_DIR=str(resolved.data_dir),
        RAY_USAGE_STATS_ENABLED="0",
    )
    if resolved.database_admin_url is not None:
        env["DATABASE_ADMIN_URL"] = resolved.database_admin_url.get_secret_value()
    config = _serve_config(resolved, Path(args.config))
    serve_bin = Path(sys.executable).with_name("serve")
    # Own session, so a terminal's Ctrl-C reaches only us and we stop Serve exactly once.
    # A new local Ray, not whatever cluster this machine may already run (`serve deploy` is
    # how to use an existing one).
    child = subprocess.Popen(
        [str(serve_bin), "run", "--address", "local", str(config)],
        env=env,
        start_new_session=True,
    )

    stopping = False

    def _stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    url = f"http://{resolved.host}:{resolved.port}"
    try:
        if _wait_ready(url, child, args.ready_timeout, lambda: stopping):
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
    up.add_argument("--ready-timeout", type=float, default=300.0)
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
