"""Every operation of the API, fuzzed from its own OpenAPI schema (issue 13), signed in.

For each operation schemathesis sends the schema's boundary cases and a bounded number of
generated examples, valid and invalid, as a clinic's admin or member, sometimes naming a real
recording (tests/fuzz_support.py). Every response must be below 500, conform to the schema
(body, content type), be refused without the credentials the schema asks for, refuse what the
schema forbids (invalid data, undeclared methods) and carry the error body when it refuses. A
refused request must store nothing (rows, audio, temporary files), and every stored recording
must be one an upload answered 2xx for. ``make fuzz`` runs it with more examples.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from schemathesis import Case

from fluently.settings import Settings
from tests.fuzz_support import (
    EXAMPLES_ENV,
    AppSlot,
    FuzzTarget,
    Identities,
    fuzz_settings,
    load_schema,
)

slot = AppSlot()
schema = load_schema(slot)
identities = Identities()
identities.install(schema)


@pytest.fixture(scope="module")
def fuzz_target(
    settings: Settings,
    superuser_conninfo: str,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[FuzzTarget]:
    data_dir = tmp_path_factory.mktemp("fuzz-data")
    target = FuzzTarget(
        schema, slot, identities, fuzz_settings(settings, data_dir), superuser_conninfo
    )
    yield target
    target.close()
    if target.failed or EXAMPLES_ENV in os.environ:
        show(request.config, target.summary())


def show(config: pytest.Config, lines: list[str]) -> None:
    """Print past pytest's capture, as ``-s`` would."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)


@schema.parametrize()
def test_operation(case: Case, fuzz_target: FuzzTarget) -> None:
    fuzz_target.exercise(case)
