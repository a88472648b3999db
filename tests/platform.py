"""The whole platform as operators run it: ``serve run`` on a real local Ray, in a subprocess.

Tests talk to it over HTTP on loopback, and can kill its processes like a crash would.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from pathlib import Path
from typing import Any

import psutil

from fluently.launcher import (
    READY_TIMEOUT_S,
    SERVE,
    require_ready,
    serve_env,
    session_processes,
    start_serve,
    stop_serve,
    write_serve_config,
)

REPO = Path(__file__).resolve().parents[1]


class Platform:
    def __init__(self, *, env: dict[str, str], port: int, workdir: Path) -> None:
        # Loopback-only test clusters: Ray's token auth off, so `serve deploy` needs no token.
        self.env = serve_env({**env, "RAY_AUTH_MODE": "disabled"})
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.workdir = workdir
        self.log_path = workdir / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.overrides: dict[str, dict[str, Any]] = {}

    def config(self, overrides: dict[str, dict[str, Any]] | None = None) -> Path:
        """The repository's Serve config on this platform's port, with ``self.overrides`` and
        then ``overrides`` applied to the deployments they name."""
        deployments: dict[str, dict[str, Any]] = {}
        for layer in (self.overrides, overrides or {}):
            for name, options in layer.items():
                deployments.setdefault(name, {}).update(options)
        return write_serve_config(
            REPO / "serve_config.yaml",
            self.workdir / "serve_config.yaml",
            host="127.0.0.1",
            port=self.port,
            deployments=deployments,
        )

    def start(
        self, overrides: dict[str, dict[str, Any]] | None = None, timeout_s: float = READY_TIMEOUT_S
    ) -> None:
        """Start and wait for ``/readyz``; one retry covers a Ray start-up that times out on a
        loaded machine (``Failed to get node info: Deadline Exceeded``)."""
        if overrides is not None:
            self.overrides = overrides
        try:
            self._start_once(timeout_s)
        except RuntimeError:
            self.stop()
            self._start_once(timeout_s)

    def _start_once(self, timeout_s: float) -> None:
        # Appended to, so the log of a failed first start survives the retry.
        with self.log_path.open("ab") as log:
            self.process = start_serve(self.config(), env=self.env, cwd=REPO, output=log)
        require_ready(self.url, self.process, log_path=self.log_path, timeout_s=timeout_s)

    def dashboard_url(self) -> str:
        """Where ``serve deploy --address`` reaches this platform's Ray (from its start-up log)."""
        found = re.findall(r"dashboard at \S*?(http://[0-9.]+:\d+)", self.log_path.read_text())
        if not found:
            raise RuntimeError("the Ray dashboard address is not in the log")
        return str(found[-1])

    def deploy(self, overrides: dict[str, dict[str, Any]]) -> None:
        """``serve deploy`` a changed config to the running platform, as an ML engineer would."""
        config = self.config(overrides)
        result = subprocess.run(
            [str(SERVE), "deploy", str(config), "--address", self.dashboard_url()],
            env=self.env,
            cwd=REPO,
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"serve deploy failed: {result.stdout}\n{result.stderr}")

    def processes(self, name: str) -> list[psutil.Process]:
        """Ray processes of this platform whose command line mentions ``name``."""
        assert self.process is not None
        return [
            proc
            for proc in session_processes(self.process)
            if name in " ".join(proc.info["cmdline"] or [])
        ]

    def listening_sockets(self) -> list[tuple[str, int, str]]:
        """``(address, port, process name)`` of every TCP socket this platform's processes
        listen on: Ray's, the Serve proxy's and every replica's."""
        assert self.process is not None
        found = []
        for proc in session_processes(self.process):
            with contextlib.suppress(psutil.Error):
                for conn in proc.net_connections(kind="tcp"):
                    if conn.status == psutil.CONN_LISTEN:
                        found.append((conn.laddr.ip, conn.laddr.port, proc.name()))
        return found

    def stop(self) -> int | None:
        """Stop the platform; the ``serve run`` process's exit status (0: it shut Serve down
        itself; negative: killed once its grace was over), None where it was not running."""
        if self.process is None:
            return None
        process, self.process = self.process, None
        stop_serve(process)
        return process.returncode
