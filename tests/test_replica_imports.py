"""What a replica imports at start: every Serve replica imports its deployment's module, and each
start-up second is paid per replica, on every start and every scale-up."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.platform import REPO

DEPLOYMENT_MODULES = (
    "serve_app.app",  # the Ingress, and the builder
    "deployments.dispatcher",
    "deployments.report_deployment",
    "deployments.local_transcriber",
)
ON_FIRST_USE = ("groq", "openai", "matplotlib")
"""Imported where they are used (a provider's client, a progress chart): 1.8 s and about 50 MB
per ingress replica, for clients and charts that many deployments never use."""


@pytest.mark.parametrize("module", DEPLOYMENT_MODULES)
def test_a_replica_does_not_import_what_only_some_requests_use(module: str) -> None:
    probe = (
        f"import sys, {module}; print(' '.join(m for m in {ON_FIRST_USE!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == [], done.stdout
