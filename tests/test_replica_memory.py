"""Every replica of the platform starts with glibc limited to two malloc arenas, and the
dispatcher with large blocks mapped apart from the heap.

With glibc's default (up to eight arenas per core) a transcriber replica's memory between chunks
grew with the hours of audio it had transcribed; ``serve_config.yaml`` sets ``MALLOC_ARENA_MAX``
for the application, and glibc reads it only when a process starts, so this looks at the
environment the replica processes were started with, not at the config.
"""

from __future__ import annotations

import pytest
import yaml

from tests.platform import REPO, Platform

pytestmark = pytest.mark.slow

DEPLOYMENTS = ("Ingress", "Dispatcher", "LocalTranscriber", "ReportGenerator")


def test_the_serve_config_limits_the_arenas_of_its_application() -> None:
    config = yaml.safe_load((REPO / "serve_config.yaml").read_text())
    for application in config["applications"]:
        assert application["runtime_env"]["env_vars"]["MALLOC_ARENA_MAX"] == "2"


def test_every_replica_process_started_with_two_arenas(platform: Platform) -> None:
    for deployment in DEPLOYMENTS:
        replicas = platform.processes(f"ServeReplica:fluently:{deployment}")
        assert replicas, f"no {deployment} replica found"
        for replica in replicas:
            assert replica.environ().get("MALLOC_ARENA_MAX") == "2", deployment


def test_the_dispatcher_maps_large_blocks_as_well(platform: Platform) -> None:
    """Its own ``runtime_env`` adds to the application's (both variables), not replaces it."""
    (dispatcher,) = platform.processes("ServeReplica:fluently:Dispatcher")
    environment = dispatcher.environ()
    assert environment.get("MALLOC_MMAP_THRESHOLD_") == "1048576"
    assert environment.get("MALLOC_ARENA_MAX") == "2"
