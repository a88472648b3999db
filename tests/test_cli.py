"""``fluently``, the operator's command line: what it says when the settings are wrong, when
the platform's port is taken, and which Postgres it stops."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from fluently import cli
from fluently.bootstrap import embedded_server
from fluently.launcher import free_port
from fluently.settings import Settings


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"JOBS__MAX_ATTEMPTS": "-1"}, "JOBS__MAX_ATTEMPTS: Input should be greater than or equal"),
        ({"UPLOAD__MAX_BYTES": "-5"}, "UPLOAD__MAX_BYTES: Input should be greater than or equal"),
        ({"FLUENTLY_PORT": "abc"}, "FLUENTLY_PORT: Input should be a valid integer"),
        ({"ALLOWED_HOSTS": "notjson"}, "ALLOWED_HOSTS: not valid JSON"),
        ({"TRUSTED_PROXIES": '["x"]'}, "TRUSTED_PROXIES (item 0): value is not a valid"),
        ({"JOBS__HEARTBEAT_S": "90"}, "JOBS__HEARTBEAT_S (90) must be less than JOBS__LEASE_S"),
        ({"PIPELINE__CHUNK_MAX_S": "60"}, "PIPELINE__CHUNK_MAX_S (60) must be at least"),
        ({"FLUENTLY_ENV": "production"}, "JWT_SECRET must be set outside development"),
    ],
)
@pytest.mark.parametrize("command", [["up"], ["migrate"], ["db", "status"]])
def test_invalid_settings_are_named_in_one_line_each_and_nothing_starts(
    env: dict[str, str],
    said: str,
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each was a traceback from pydantic (``ALLOWED_HOSTS``' not naming the variable), and
    ``JOBS__MAX_ATTEMPTS=-1`` or ``UPLOAD__MAX_BYTES=-5`` started a platform that failed every
    job or refused every upload."""
    monkeypatch.setenv("FLUENTLY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("JWT_SECRET", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli.main(command) == 2
    err = capsys.readouterr().err
    assert err.startswith("fluently: invalid settings in the environment:\n  ")
    assert said in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # no database, no key


def test_up_refuses_a_port_in_use_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second ``fluently up`` on the same port printed "Fluently is up" (the first answered
    its readiness check), shared the port with the first one's proxy, and on Ctrl-C stopped the
    first one's database."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("FLUENTLY_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("FLUENTLY_PORT", str(taken.getsockname()[1]))
        assert cli.main(["up"]) == 1
    err = capsys.readouterr().err
    assert "is in use: is Fluently already running there?" in err
    assert list(tmp_path.iterdir()) == []


def test_up_leaves_running_a_postgres_it_did_not_start(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's embedded Postgres is running; ``fluently up`` on its data directory uses
    it and, when its Serve ends, does not stop it. (Serve is a process that exits at once: the
    question is only which database the command stops.)"""
    server = embedded_server(settings)
    assert server.is_running()
    monkeypatch.setenv("FLUENTLY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("FLUENTLY_PG_PORT", str(settings.embedded_pg_port))
    monkeypatch.setenv("FLUENTLY_ENV", "test")
    assert settings.jwt_secret is not None
    monkeypatch.setenv("JWT_SECRET", settings.jwt_secret.get_secret_value())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        monkeypatch.setenv("FLUENTLY_PORT", str(probe.getsockname()[1]))
    monkeypatch.setattr(
        cli, "start_serve", lambda *_, **__: subprocess.Popen([sys.executable, "-c", "pass"])
    )
    monkeypatch.setattr(cli, "wait_ready", lambda *_, **__: False)
    monkeypatch.setattr(cli.signal, "signal", lambda *_: None)  # pytest keeps its Ctrl-C
    assert cli.main(["up", "--ready-timeout", "1"]) == 0
    assert server.is_running()


def test_db_status_hides_the_password(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FLUENTLY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("FLUENTLY_PG_PORT", str(settings.embedded_pg_port))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert cli.main(["db", "status"]) == 0
    out = capsys.readouterr().out
    assert settings.database_url is not None
    password = settings.database_url.get_secret_value().split(":")[2].split("@")[0]
    assert out.startswith("running: postgresql+psycopg://fluently_app:***@127.0.0.1:")
    assert password not in out


def test_migrate_stops_the_postgres_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``fluently migrate`` left the embedded Postgres it started running, and ``fluently up``
    after it would then (rightly) not stop a Postgres it had not started."""
    monkeypatch.setenv("FLUENTLY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FLUENTLY_PG_PORT", str(free_port()))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert cli.main(["migrate"]) == 0
    assert capsys.readouterr().out.endswith("migrated (up to head)\n")
    assert not embedded_server(Settings()).is_running()
