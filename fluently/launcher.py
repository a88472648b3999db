"""Run the platform as operators do: ``serve run`` on a new local Ray, in a session of its own.

``fluently up``, the tests' whole-platform fixture and the benchmarks' private platform all start,
wait for and stop Serve through here, so they run the same platform the same way: a single-machine
Ray that listens on loopback only, behind a Serve proxy that passes proxy headers through
untouched (the app decides whom to trust: ``TRUSTED_PROXIES``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import IO, Any

import httpx
import psutil
import yaml

from fluently import ray_cli

SERVE = Path(sys.executable).with_name("serve")
SINGLE_MACHINE_ENV = {
    # Ray binds its ports to all interfaces unless the node's address is loopback, which it is
    # only where multi-node clusters are off (as on Windows and macOS); ``--node-ip-address
    # 127.0.0.1`` is rewritten to the machine's own address. Off, every Ray port is on 127.0.0.1.
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    # Serve's proxy runs uvicorn, which otherwise rewrites the client address and scheme from
    # X-Forwarded-For/-Proto sent from 127.0.0.1, i.e. from anyone on this machine.
    "FORWARDED_ALLOW_IPS": "",
}
"""Environment of every Ray process ``start_serve`` starts (the proxy and replicas inherit it)."""
REPLICA_SETUP_HOOK = f"{__name__}.bind_replica_grpc_to_node_address"
READY_TIMEOUT_S = 300.0
"""How long a cold start (Ray, Postgres migrations, model loads) may take to answer ``/readyz``."""
STOP_GRACE_S = 20.0
"""How long ``serve run`` gets to shut Serve down after SIGINT before it is killed."""
REAP_WAIT_S = 10.0
"""How long what is left of the Ray session gets to exit on its own before it is killed."""


class NotReady(RuntimeError):
    """The server exited, or did not answer ``/readyz`` in time."""


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_serve_config(
    source: Path,
    target: Path,
    *,
    host: str,
    port: int,
    deployments: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """``source`` written to ``target`` with HTTP on ``host:port`` and the options of each
    deployment named in ``deployments`` updated."""
    config = yaml.safe_load(source.read_text())
    config.setdefault("http_options", {}).update(host=host, port=port)
    for application in config.get("applications", []):
        for deployment in application.get("deployments", []):
            deployment.update((deployments or {}).get(deployment["name"], {}))
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    return target


def serve_env(extra: Mapping[str, str], *, without: Collection[str] = ()) -> dict[str, str]:
    """This process's environment less ``without``, plus ``extra``, with Ray's usage stats off,
    every replica's log line kept (``RAY_DEDUP_LOGS``) and this Python's scripts directory first
    on ``PATH``: a Ray job submitted to the platform's cluster (``ray job submit -- python
    benchmarks/load.py``) runs its entrypoint's ``python`` with the platform's packages, as it
    does in the image, without an activated environment.

    Ray's driver folds log lines that look alike, numbers aside, into "[repeated 9x across
    cluster]": the ``chunk transcribed`` lines, each with its own ``audio_s`` and ``elapsed_s``,
    and the request lines, each with its own id, were dropped from ``serve run``'s output. An
    operator who wants Ray's folding back sets ``RAY_DEDUP_LOGS=1``."""
    env = {k: v for k, v in os.environ.items() if k not in without}
    env.update(extra)
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    env.setdefault("RAY_DEDUP_LOGS", "0")
    scripts = str(SERVE.parent)
    env["PATH"] = os.pathsep.join(
        [scripts, *(p for p in env.get("PATH", "").split(os.pathsep) if p and p != scripts)]
    )
    return env


def start_serve(
    config: Path,
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    output: IO[bytes] | None = None,
) -> subprocess.Popen[bytes]:
    """``serve run`` of ``config``; its stdout and stderr go to ``output``, or stay ours.

    A new local Ray, not whatever cluster this machine may already run (``serve deploy`` is how
    to use an existing one), listening on loopback only (``SINGLE_MACHINE_ENV``). Its own
    session, so a terminal's Ctrl-C reaches only the launcher, which stops Serve exactly once, and
    every process of the platform carries its session id. SIGINT is handled in it whatever this
    process inherited (``fluently.ray_cli``), so ``stop_serve`` shuts Serve down rather than
    killing it.
    """
    runtime_env = json.dumps({"worker_process_setup_hook": REPLICA_SETUP_HOOK})
    return subprocess.Popen(
        [
            *ray_cli.command("serve"),
            "run",
            "--address",
            "local",
            "--runtime-env-json",
            runtime_env,
            str(config),
        ],
        env={**env, **SINGLE_MACHINE_ENV},
        cwd=cwd,
        stdout=output,
        stderr=None if output is None else subprocess.STDOUT,
        start_new_session=True,
    )


def wait_ready(
    url: str,
    process: subprocess.Popen[bytes],
    *,
    timeout_s: float = READY_TIMEOUT_S,
    stopping: Callable[[], bool] = lambda: False,
) -> bool:
    """Whether ``{url}/readyz`` answered 200 before ``process`` exited, ``timeout_s`` passed or
    ``stopping()`` turned true."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None and not stopping():
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return True
        time.sleep(1)
    return False


def require_ready(
    url: str,
    process: subprocess.Popen[bytes],
    *,
    log_path: Path,
    timeout_s: float = READY_TIMEOUT_S,
) -> None:
    """``wait_ready``, raising ``NotReady`` with the end of the server's log if it is not."""
    if wait_ready(url, process, timeout_s=timeout_s):
        return
    what = "exited" if process.poll() is not None else f"not ready in {timeout_s:g} s"
    raise NotReady(f"the server for {url} {what}; see {log_path}:\n{log_tail(log_path)}")


def log_tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def session_processes(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """Every process still in the session ``start_serve`` gave ``process``: Ray's and Serve's."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error, OSError):
            if os.getsid(proc.pid) == process.pid:
                found.append(proc)
    return found


def stop_serve(process: subprocess.Popen[bytes], grace_s: float = STOP_GRACE_S) -> None:
    """SIGINT lets ``serve run`` shut Serve down; whatever is left of its Ray session is killed.

    Ray's own processes watch their parent and exit with it, but a replica stuck in shutdown
    must not outlive the platform, so every process of the child's session is reaped.
    """
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    deadline = time.monotonic() + REAP_WAIT_S
    while True:
        left = session_processes(process)
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def bind_replica_grpc_to_node_address() -> None:
    """Ray worker setup hook: Serve replicas bind their inter-deployment gRPC server to ``[::]``
    whatever the node's address (``ray/serve/_private/replica.py``); on a loopback node, gRPC
    servers in Ray workers bind to the node's address instead, so nothing of a single-machine
    platform listens outside it.

    That server runs any deployment for whoever reaches it, with an ASGI scope the caller writes.
    On a cluster the node address is routable and replicas must reach each other: unchanged.
    The hook runs before a worker loads its actor class, so Serve's ``from ... import`` of
    ``add_port_to_grpc_server`` picks up the replacement (the socket test in
    ``tests/test_http_hardening_platform.py`` fails if a Ray upgrade breaks this).
    """
    import ray
    from ray._common import tls_utils

    node_address: str = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]
    if not ipaddress.ip_address(node_address).is_loopback:
        return
    add_port: Callable[[Any, str], int] = tls_utils.add_port_to_grpc_server

    def add_port_on_node_address(server: Any, address: str) -> int:
        host, _, port = address.rpartition(":")
        if host in ("[::]", "0.0.0.0"):  # noqa: S104 (the wildcard is what is replaced)
            address = f"{node_address}:{port}"
        return add_port(server, address)

    tls_utils.add_port_to_grpc_server = add_port_on_node_address
