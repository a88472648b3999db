"""The whole platform as operators run it: ``serve run`` on a real local Ray, in a subprocess.

Tests talk to it over HTTP on loopback, and can kill its processes like a crash would.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

from fluently.cli import stop_serve

REPO = Path(__file__).resolve().parents[1]


class Platform:
    def __init__(self, *, env: dict[str, str], port: int, workdir: Path) -> None:
        # Loopback-only test clusters: Ray's token auth off, so `serve deploy` needs no token.
        self.env = {
            **os.environ,
            **env,
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_AUTH_MODE": "disabled",
        }
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.workdir = workdir
        self.log_path = workdir / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.overrides: dict[str, dict[str, Any]] = {}

    def config(self, overrides: dict[str, dict[str, Any]] | None = None) -> Path:
        config = yaml.safe_load((REPO / "serve_config.yaml").read_text())
        config["http_options"] = {"host": "127.0.0.1", "port": self.port}
        for deployment in config["applications"][0]["deployments"]:
            for layer in (self.overrides, overrides or {}):
                deployment.update(layer.get(deployment["name"], {}))
        path = self.workdir / "serve_config.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    def start(
        self, overrides: dict[str, dict[str, Any]] | None = None, timeout_s: float = 300
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
        config = self.config()
        log = self.log_path.open("ab")
        serve = Path(sys.executable).with_name("serve")
        self.process = subprocess.Popen(
            [str(serve), "run", "--address", "local", str(config)],
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve run exited; see {self.log_path}:\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(1)
        raise RuntimeError(f"platform not ready in {timeout_s}s:\n{self.tail()}")

    def dashboard_url(self) -> str:
        """Where ``serve deploy --address`` reaches this platform's Ray (from its start-up log)."""
        found = re.findall(r"dashboard at \S*?(http://[0-9.]+:\d+)", self.log_path.read_text())
        if not found:
            raise RuntimeError("the Ray dashboard address is not in the log")
        return str(found[-1])

    def deploy(self, overrides: dict[str, dict[str, Any]]) -> None:
        """``serve deploy`` a changed config to the running platform, as an ML engineer would."""
        config = self.config(overrides)
        serve = Path(sys.executable).with_name("serve")
        result = subprocess.run(
            [str(serve), "deploy", str(config), "--address", self.dashboard_url()],
            env=self.env,
            cwd=REPO,
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"serve deploy failed: {result.stdout}\n{result.stderr}")

    def tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def processes(self, name: str) -> list[psutil.Process]:
        """Ray processes of this platform whose title mentions ``name``."""
        assert self.process is not None
        found = []
        for proc in psutil.process_iter(["cmdline"]):
            with contextlib.suppress(psutil.Error, OSError):
                if os.getsid(proc.pid) == self.process.pid and name in " ".join(
                    proc.info["cmdline"] or []
                ):
                    found.append(proc)
        return found

    def stop(self) -> None:
        if self.process is not None:
            stop_serve(self.process)
            self.process = None
