"""The silence level that word times, coverage and pauses are read from holds with a hum under
the speech."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.disfluency_run import with_hum
from pipelines.alignment import voiced_frames
from pipelines.audio import decode
from tests.support import FIXTURES

SPEECH = FIXTURES / "long" / "conversation_no_tail.opus"
"""135 s of sentences with pauses of 0.2-3 s between them, whose silence is digital."""


@pytest.mark.parametrize(
    ("hertz", "under_speech_db"),
    [
        ([50.0, 150.0], 15),  # a badly earthed lead on 50 Hz mains
        ([50.0, 150.0], 3),
        ([60.0, 180.0, 300.0], 9),  # 60 Hz mains with odd harmonics
        ([60.0, 120.0, 180.0, 240.0, 300.0, 360.0], 6),  # a rectifier's buzz
    ],
)
def test_a_mains_hum_does_not_silence_the_speech(hertz: list[float], under_speech_db: int) -> None:
    """The hum fills the pauses within 15 dB of the speech, so the full-band level puts quiet
    words under the silence level (a quarter of the frames on this recording, and one sentence
    lost). Measured above the hum, the frames are voiced where they are without it."""
    speech = decode(SPEECH)
    hummed = with_hum(speech, under_speech_db, hertz)
    clean, heard = voiced_frames(speech), voiced_frames(hummed)
    assert np.mean(clean == heard) > 0.95


def test_speech_without_a_hum_keeps_the_full_band_level() -> None:
    """Quiet low sounds (nasals, voiced closures) carry little above the hum's band: without a
    hum they stay voiced as the full-band level has them. The fixture recordings all decide on
    the full band (JFK's room rumble is 9 dB in it, short of the hum's 40)."""
    speech = decode(SPEECH)
    voiced = voiced_frames(speech)
    frames = speech[: len(voiced) * 320].astype(np.float64).reshape(len(voiced), 320)
    level = 20 * np.log10(np.maximum(np.sqrt(np.mean(frames**2, axis=1)), 1e-9))
    loud = np.percentile(level, 95)
    # Digital silence: the floor is 60 dB under the loud frames, the silence level 30 % over it.
    assert np.array_equal(voiced, level >= loud - 60 + 0.3 * 60)
