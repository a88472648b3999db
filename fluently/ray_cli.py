"""Ray's command-line tools that a stop request always reaches: ``python -m fluently.ray_cli
serve run ...`` is ``serve run ...``, ``python -m fluently.ray_cli ray start --block ...`` is
``ray start --block ...``.

A process started with SIGINT ignored (a job a non-interactive shell put in the background, as
CI runners and scripts do) hands that on to every process it starts, and Python then leaves
SIGINT ignored instead of raising ``KeyboardInterrupt``: ``serve run`` never shuts Serve down, and
``fluently.launcher.stop_serve`` kills it once its grace (20 s) is over and then reaps the Ray
processes left (10 s more). Here SIGINT is handled again first, so the tool stops as a
terminal's Ctrl-C stops it: ``serve run`` stops every replica in turn and exits 0, in about 10 s
on 2 cores (2026-12-07).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import Any


def _serve() -> Callable[[], Any]:
    from ray.serve.scripts import cli

    return cli


def _ray() -> Callable[[], Any]:
    from ray.scripts.scripts import main

    return main


TOOLS: dict[str, Callable[[], Callable[[], Any]]] = {"serve": _serve, "ray": _ray}
"""Each tool's command-line entry point (the one its console script calls), imported on use."""


def command(tool: str) -> tuple[str, ...]:
    """The command line that runs ``tool`` (a key of ``TOOLS``) through this module, for
    ``subprocess.Popen`` with the tool's own arguments after it."""
    if tool not in TOOLS:
        raise ValueError(f"no such Ray tool: {tool!r}")
    return (sys.executable, "-m", __name__, tool)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TOOLS:
        sys.exit(f"usage: python -m fluently.ray_cli {{{','.join(TOOLS)}}} ARGS...")
    tool = sys.argv.pop(1)
    sys.argv[0] = tool
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(TOOLS[tool]()())


if __name__ == "__main__":
    main()
