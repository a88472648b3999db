"""The instruction set ``make test`` reruns the model tests under (``tests/other_isa.py``)."""

from __future__ import annotations

import pytest

from tests.other_isa import other_isa, selected_isa

ISAS = ("GENERIC", "AVX", "AVX2", "AVX512", "NEON")


@pytest.mark.parametrize(
    ("selected", "rerun"),
    [("AVX512", "AVX2"), ("AVX2", "AVX"), ("AVX", "GENERIC"), ("GENERIC", "GENERIC")],
)
def test_the_rerun_is_one_step_below_what_the_cpu_selected(selected: str, rerun: str) -> None:
    """The CPU that selected an instruction set runs the one below it; nothing is below GENERIC."""
    assert other_isa(selected) == rerun


def test_this_cpu_s_selection_is_read_from_ctranslate2() -> None:
    """Read from CTranslate2's own log line, with any ``CT2_FORCE_CPU_ISA`` of the caller's
    left out: it is one of the five (NEON on ARM), and the rerun differs from it unless the
    CPU has no AVX."""
    selected = selected_isa()
    assert selected in ISAS
    assert other_isa(selected) != selected or selected == "GENERIC"
