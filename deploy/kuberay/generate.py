"""Write ``serve_config.yaml`` into ``deploy/kuberay/rayservice.yaml`` as its ``serveConfigV2``.

``python deploy/kuberay/generate.py`` rewrites the block after ``serve_config.yaml`` changed;
``--check`` only says whether the manifest is current (exit 1 if not; ``tests/test_kuberay.py``
checks the same). Only ``spec.serveConfigV2`` is generated: the rest of the manifest, comments
included, is edited by hand and left as it is.

The cluster's config is the repository's with the changes in ``CLUSTER`` and ``SCALE`` and no
others: every deployment keeps its ``user_config`` and ``ray_actor_options``.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
SERVE_CONFIG = REPO / "serve_config.yaml"
MANIFEST = Path(__file__).resolve().with_name("rayservice.yaml")

CLUSTER: Mapping[str, Any] = {
    # A proxy on every pod, listening on the pod's address: KubeRay's serve Service sends
    # traffic to every pod whose proxy is healthy, so no single pod is the way in. Port and
    # FORWARDED_ALLOW_IPS (controller_options) stay as in serve_config.yaml.
    "proxy_location": "EveryNode",
    "http_options": {"host": "0.0.0.0"},  # noqa: S104 - the pod's network is the cluster's
}
"""Top-level options merged over ``serve_config.yaml``'s."""

SCALE: Mapping[str, Mapping[str, Any]] = {
    # serve_config.yaml is sized for one 2-core machine. Here the worker group grows to 4 pods
    # of 4 CPUs; 16 transcribers at 0.8 CPU (plus the three 0.1-CPU deployments) fit on them.
    "LocalTranscriber": {"autoscaling_config": {"max_replicas": 16}},
}
"""Per deployment, options merged over its own; each key must already be set there."""


def cluster_config(source: Mapping[str, Any]) -> dict[str, Any]:
    """``source`` (a Serve config) with ``CLUSTER`` and ``SCALE`` applied."""
    config = copy.deepcopy(dict(source))
    _merge(config, CLUSTER, where="serve_config.yaml", require_existing=False)
    deployments = {
        d["name"]: d for application in config["applications"] for d in application["deployments"]
    }
    for name, options in SCALE.items():
        if name not in deployments:
            raise SystemExit(f"SCALE names {name!r}, which serve_config.yaml does not deploy")
        _merge(deployments[name], options, where=name, require_existing=True)
    return config


def _merge(
    target: dict[str, Any], options: Mapping[str, Any], *, where: str, require_existing: bool
) -> None:
    for key, value in options.items():
        if require_existing and key not in target:
            # e.g. an override of autoscaling_config where the deployment now has num_replicas:
            # Serve would refuse both, so say so here rather than on the cluster.
            raise SystemExit(f"{where} has no {key!r} to override; update SCALE in {__file__}")
        if isinstance(value, Mapping):
            _merge(
                target.setdefault(key, {}), value, where=f"{where}.{key}", require_existing=False
            )
        else:
            target[key] = value


def render(source_text: str) -> str:
    """The ``serveConfigV2`` text for a ``serve_config.yaml`` text."""
    return yaml.safe_dump(
        cluster_config(yaml.safe_load(source_text)), sort_keys=False, default_flow_style=False
    )


_BLOCK_KEY = re.compile(r"^(?P<indent> *)serveConfigV2: \|\n", re.MULTILINE)


def rewrite(manifest_text: str, serve_config_text: str) -> str:
    """``manifest_text`` with its ``serveConfigV2: |`` block replaced by the rendered config."""
    match = _BLOCK_KEY.search(manifest_text)
    if match is None:
        raise SystemExit(f"no 'serveConfigV2: |' line in {MANIFEST}")
    indent = len(match["indent"]) + 2
    lines = manifest_text[match.end() :].splitlines(keepends=True)
    # The block runs while lines are blank or indented deeper than the key.
    end = next(
        (
            i
            for i, line in enumerate(lines)
            if line.strip() and len(line) - len(line.lstrip(" ")) < indent
        ),
        len(lines),
    )
    block = "".join(" " * indent + line for line in render(serve_config_text).splitlines(True))
    return manifest_text[: match.end()] + block + "".join(lines[end:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the manifest is not current; write nothing"
    )
    args = parser.parse_args()
    current = MANIFEST.read_text()
    wanted = rewrite(current, SERVE_CONFIG.read_text())
    if args.check:
        if wanted != current:
            print(
                f"{MANIFEST.relative_to(REPO)} is out of date: run python "
                "deploy/kuberay/generate.py",
                file=sys.stderr,
            )
            return 1
        return 0
    if wanted != current:
        MANIFEST.write_text(wanted)
        print(f"wrote {MANIFEST.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
