"""The load benchmark as a Ray job on the platform's own cluster, as the README submits it.

``ray job submit --working-dir . -- python benchmarks/load.py --url …`` runs its entrypoint on
the cluster with the ``python`` the cluster's processes find first on ``PATH``: in the image
that is the one with the platform's packages; on a machine where ``make run`` started the
platform from its virtual environment, it must be too, activated or not.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from fluently.launcher import SERVE
from tests.platform import REPO, Platform

pytestmark = pytest.mark.slow
NO_AGENT = "No available agent to submit job"
"""What the dashboard answers until the node's job agent has registered, seconds after Ray
starts; the CLI says to try again."""
AGENT_WAIT_S = 90.0


def test_the_load_benchmark_runs_as_a_ray_job_against_the_platform(platform: Platform) -> None:
    scripts = str(SERVE.parent)
    # The submitting shell need not have the environment activated; the job must not care.
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != scripts)
    env = {**platform.env, "PATH": path}
    command = [
        str(SERVE.with_name("ray")),
        "job",
        "submit",
        "--address",
        platform.dashboard_url(),
        "--working-dir",
        str(REPO),
        "--",
        "python",
        "benchmarks/load.py",
        "--url",
        platform.url,
        "--clients",
        "1",
        "--per-client",
        "1",
        "--warmup",
        "0",
    ]
    deadline = time.monotonic() + AGENT_WAIT_S
    while True:
        result = subprocess.run(
            command, env=env, cwd=REPO, capture_output=True, text=True, timeout=300, check=False
        )
        output = result.stdout + result.stderr
        if NO_AGENT not in output or time.monotonic() > deadline:
            break
        time.sleep(5)
    # Ray's job agent listens on a fixed port (52365): another Ray on this machine (a `make
    # run` left up) holds it, and this cluster's jobs then never find an agent.
    assert NO_AGENT not in output, f"is another Ray running on this machine?\n{output}"
    assert result.returncode == 0, output
    # The job's log is the benchmark's: its JSON summary, after Ray's own lines.
    assert '"benchmark": "load"' in output, output
    assert '"processed": 1,' in output and '"all_processed": true' in output, output
