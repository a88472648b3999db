"""``constraints.txt`` pins what the suite runs with, and every dependency ``pyproject.toml`` names.

``make install`` and the image install with it, so a fresh clone gets the versions the suite last
passed with; a dependency added to ``pyproject.toml`` without ``make lock`` would come unpinned.
"""

from __future__ import annotations

import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.platform import REPO
from tests.support import pinned_versions


def test_every_dependency_of_the_project_is_pinned() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    named = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    pins = pinned_versions()
    unpinned = [r for r in named if canonicalize_name(Requirement(r).name) not in pins]
    assert unpinned == [], "run `make lock`"


def test_the_suite_runs_with_the_pinned_versions() -> None:
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    differ = {
        name: (version, installed[name])
        for name, version in pinned_versions().items()
        if name in installed and installed[name] != version
    }
    assert differ == {}, "reinstall (`make install`) or re-pin (`make lock`)"
