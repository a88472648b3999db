"""The platform on a Ray cluster of two nodes on this machine, deployed as on a real cluster.

A head and a worker node, each its own ``ray start --block`` in a session of its own (so each
node's processes are found, killed and reaped by their session id, never by name: other Rays
may run on this machine), with its own temp dir, ports and custom resource (``head_node``,
``worker_node``); the platform goes on with ``serve deploy`` through the head's dashboard.

Both nodes use loopback addresses, but not ``127.0.0.1``: Ray keeps a node on ``127.0.0.1`` only
while multi-node clusters are off (``fluently.launcher.SINGLE_MACHINE_ENV``) and rewrites that
address to the machine's own otherwise. On any other address Ray's gRPC servers (GCS, raylet,
object manager, agents) listen on every interface, as on a real cluster, so the cluster runs
with Ray's token authentication and a token of its own. The dashboard and the Serve proxy stay
on ``127.0.0.1``.
"""

from __future__ import annotations

import contextlib
import json
import random
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil
import yaml

from fluently import ray_cli
from fluently.launcher import (
    READY_TIMEOUT_S,
    REPLICA_SETUP_HOOK,
    SERVE,
    free_port,
    log_tail,
    require_ready,
    serve_env,
    session_processes,
    stop_serve,
    write_serve_config,
)

REPO = Path(__file__).resolve().parents[1]
HEAD_ADDRESS = "127.0.0.2"
WORKER_ADDRESS = "127.0.0.3"
HEAD_RESOURCE = "head_node"
WORKER_RESOURCE = "worker_node"
NODE_START_TIMEOUT_S = 180.0
NODE_START_ATTEMPTS = 3
"""``ray start`` gives a node 30 s to register with the GCS; a loaded machine can exceed it
(``The current node timed out during startup``), so a node's start is tried again."""
OBJECT_STORE_BYTES = 256 * 1024 * 1024
WORKER_PORTS = 64
"""Ports each node's workers (replicas, tasks) may take: a range of its own, below Linux's
ephemeral ports and above Ray's default range (10002-19999), which another Ray may be using."""
STARTED = "Ray runtime started."
CLUSTER_ENV = {
    # Other Rays on this machine may be loopback-only (SINGLE_MACHINE_ENV); this one cannot be.
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1",
    "RAY_AUTH_MODE": "token",
    # A loaded machine starts a node's agents slowly; the raylet waits 30 s for them otherwise.
    "RAY_agent_register_timeout_ms": "120000",
    "FORWARDED_ALLOW_IPS": "",
    "PYTHONPATH": str(REPO),
}


def free_port_range(count: int) -> tuple[int, int]:
    """``count`` consecutive ports nothing listens on right now, between 20000 and 32767."""
    for _ in range(100):
        first = random.randrange(20000, 32768 - count)
        if all(_bindable(port) for port in range(first, first + count)):
            return first, first + count - 1
    raise RuntimeError(f"no {count} free consecutive ports between 20000 and 32767")


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("", port))
        except OSError:
            return False
        return True


class RayNode:
    """One ``ray start --block`` and every process of its session."""

    def __init__(self, name: str, *, env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.env = dict(env)
        # Short: Ray's Unix sockets live under it, and their paths may not exceed 107 bytes.
        self.temp_dir = Path(tempfile.mkdtemp(prefix=f"fl2n-{name[0]}-", dir="/tmp"))
        self.log_path = log_dir / f"ray-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, args: list[str]) -> None:
        """Start, tried up to ``NODE_START_ATTEMPTS`` times."""
        for attempt in range(1, NODE_START_ATTEMPTS + 1):
            try:
                self._start_once(args)
                return
            except RuntimeError:
                self.stop()
                if attempt == NODE_START_ATTEMPTS:
                    raise

    def _start_once(self, args: list[str]) -> None:
        # Appended to, so the log of a failed first start survives the retry.
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                # With SIGINT handled (``fluently.ray_cli``): ``stop`` stops the node rather than
                # killing it after its grace, whatever SIGINT handling the suite inherited.
                [*ray_cli.command("ray"), "start", "--block", f"--temp-dir={self.temp_dir}", *args],
                env=self.env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + NODE_START_TIMEOUT_S
        while STARTED not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the Ray {self.name} node did not start; see {self.log_path}:\n"
                    f"{log_tail(self.log_path)}"
                )
            time.sleep(1)

    def processes(self) -> list[psutil.Process]:
        assert self.process is not None
        return session_processes(self.process)

    def raylet(self) -> psutil.Process:
        found = [proc for proc in self.processes() if proc.name() == "raylet"]
        if len(found) != 1:
            raise RuntimeError(f"the {self.name} node has {len(found)} raylets")
        return found[0]

    def node_id(self) -> str:
        """Ray's id of this node, as its raylet was told it."""
        for arg in self.raylet().cmdline():
            if arg.startswith("--node_id="):
                return arg.removeprefix("--node_id=")
        raise RuntimeError(f"the {self.name} node's raylet has no --node_id")

    def kill_raylet(self) -> None:
        """SIGKILL the raylet, as a crash would; the node's other processes go with it."""
        raylet = self.raylet()
        raylet.kill()
        raylet.wait(timeout=30)

    def stop(self) -> None:
        """SIGINT to ``ray start``, then every process left in its session is killed."""
        if self.process is not None:
            stop_serve(self.process)
            self.process = None

    def remove(self) -> None:
        shutil.rmtree(self.temp_dir, ignore_errors=True)


class TwoNodePlatform:
    """A head (the ingress, dispatcher, report generator and one transcriber) and a worker
    node (another transcriber), the platform deployed to them from ``serve_config.yaml``.

    ``env`` is the platform's (database, storage, secrets): both nodes start with it, as an
    operator's ``ray start`` would, so every replica has it wherever it is placed.
    """

    def __init__(self, *, env: Mapping[str, str], workdir: Path) -> None:
        self.workdir = workdir
        self.env = serve_env({**env, **CLUSTER_ENV, "RAY_AUTH_TOKEN": secrets.token_hex(32)})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.gcs_port = free_port()
        self.dashboard_url = f"http://127.0.0.1:{free_port()}"
        self.head = RayNode("head", env=self.env, log_dir=workdir)
        self.worker = RayNode("worker", env=self.env, log_dir=workdir)

    def start(self) -> None:
        self.head.start(
            [
                "--head",
                f"--node-ip-address={HEAD_ADDRESS}",
                f"--port={self.gcs_port}",
                "--num-cpus=2",
                f"--resources={json.dumps({HEAD_RESOURCE: 1})}",
                "--dashboard-host=127.0.0.1",
                f"--dashboard-port={self.dashboard_url.rpartition(':')[2]}",
                f"--ray-client-server-port={free_port()}",
                *self._node_ports(),
            ]
        )
        self.worker.start(
            [
                f"--address={HEAD_ADDRESS}:{self.gcs_port}",
                f"--node-ip-address={WORKER_ADDRESS}",
                "--num-cpus=1",
                f"--resources={json.dumps({WORKER_RESOURCE: 1})}",
                *self._node_ports(),
            ]
        )
        self.deploy()
        assert self.head.process is not None
        require_ready(self.url, self.head.process, log_path=self.head.log_path)
        self.wait_for_replicas("LocalTranscriber", 2)

    @staticmethod
    def _node_ports() -> list[str]:
        first, last = free_port_range(WORKER_PORTS)
        return [
            f"--node-manager-port={free_port()}",
            f"--object-manager-port={free_port()}",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}",
            f"--metrics-export-port={free_port()}",
            f"--min-worker-port={first}",
            f"--max-worker-port={last}",
            f"--object-store-memory={OBJECT_STORE_BYTES}",
            "--disable-usage-stats",
        ]

    def config(self) -> Path:
        """``serve_config.yaml`` placed on the two nodes: every deployment but the transcriber
        on the head, and two transcriber replicas, at most one per node."""
        source = REPO / "serve_config.yaml"
        base = {
            deployment["name"]: deployment
            for application in yaml.safe_load(source.read_text())["applications"]
            for deployment in application["deployments"]
        }
        on_head = {"resources": {HEAD_RESOURCE: 0.01}}
        overrides: dict[str, dict[str, Any]] = {
            name: {"ray_actor_options": {**base[name]["ray_actor_options"], **on_head}}
            for name in ("Ingress", "Dispatcher", "ReportGenerator")
        }
        overrides["LocalTranscriber"] = {
            "num_replicas": 2,
            "autoscaling_config": None,
            "max_replicas_per_node": 1,
        }
        target = write_serve_config(
            source,
            self.workdir / "serve_config.yaml",
            host="127.0.0.1",
            port=self.port,
            deployments=overrides,
        )
        # What ``serve run --runtime-env-json`` gives the single-machine platform
        # (``fluently.launcher.start_serve``): replicas' gRPC on their node's address.
        config = yaml.safe_load(target.read_text())
        for application in config["applications"]:
            runtime_env = application.setdefault("runtime_env", {})
            runtime_env["worker_process_setup_hook"] = REPLICA_SETUP_HOOK
        target.write_text(yaml.safe_dump(config, sort_keys=False))
        return target

    def deploy(self) -> None:
        result = subprocess.run(
            [str(SERVE), "deploy", str(self.config()), "--address", self.dashboard_url],
            env=self.env,
            cwd=REPO,
            check=False,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if result.returncode != 0:
            raise RuntimeError(f"serve deploy failed: {result.stdout}\n{result.stderr}")

    def serve_status(self) -> dict[str, Any]:
        result = subprocess.run(
            [str(SERVE), "status", "--address", self.dashboard_url],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        status: dict[str, Any] = yaml.safe_load(result.stdout)
        return status

    def wait_for_replicas(
        self, deployment: str, running: int, timeout_s: float = READY_TIMEOUT_S
    ) -> None:
        """Until ``running`` replicas of ``deployment`` run, per Serve's controller."""
        deadline = time.monotonic() + timeout_s
        states: dict[str, int] = {}
        while time.monotonic() < deadline:
            with contextlib.suppress(subprocess.SubprocessError, KeyError, TypeError):
                application = self.serve_status()["applications"]["fluently"]
                states = application["deployments"][deployment]["replica_states"]
                if states.get("RUNNING", 0) >= running:
                    return
            time.sleep(2)
        raise RuntimeError(
            f"{deployment}: {states} after {timeout_s:g} s, not {running} running; see "
            f"{self.head.log_path}:\n{log_tail(self.head.log_path)}"
        )

    def stop(self) -> None:
        """Stop both nodes by their own sessions (never ``ray stop``: other Rays may run)."""
        for node in (self.worker, self.head):
            with contextlib.suppress(Exception):
                node.stop()
            node.remove()
