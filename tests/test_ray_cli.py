"""``python -m fluently.ray_cli``: Ray's commands with SIGINT handled (``fluently.ray_cli``).

That ``serve run`` under it shuts Serve down on SIGINT even where the suite inherited SIGINT
ignored is checked where the platform is stopped and started again
(``tests/test_recordings.py``, ``TestDurability``): it exits 0, not killed after its grace.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("args", [[], ["kubectl", "get", "pods"]])
def test_a_tool_it_does_not_run_is_refused_with_its_usage(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fluently.ray_cli", *args], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "usage: python -m fluently.ray_cli {serve,ray} ARGS..." in done.stderr


@pytest.mark.parametrize(("tool", "says"), [("serve", "Serve applications"), ("ray", "Ray")])
def test_each_tool_is_the_one_its_console_script_runs(tool: str, says: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fluently.ray_cli", tool, "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert says in done.stdout
