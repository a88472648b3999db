"""A quiet recording raised to a speech level before anything reads it.

Whisper normalises each window's spectrum, so it hears quiet speech; Silero VAD does not. At
-50 dB (J. F. Kennedy's speech at about -61 dBFS, a microphone far off or a recorder's gain
left low) raw whisper still wrote every word, but the VAD heard almost none of it, so the
chunk plan, the coverage check and the voiced-audio evidence all took the speech for silence:
the platform wrote "Three can do for you, ask what you can do for your country." and listed no
audio as left without words. ``raised`` measures the recording's loud level and, under
``QUIET_DBFS``, reads it through a gain that brings it to ``TARGET_DBFS``: every later step (VAD,
chunks, the checks that read levels, the backends) hears the same raised audio. The stored
upload is not changed; ``Coverage.raised_db`` says what was applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pipelines.types import SAMPLE_RATE, AudioArray, AudioSource

FRAME = SAMPLE_RATE // 20
"""Samples whose RMS is one level reading (50 ms: a syllable's vowel fills one)."""
LOUD_PERCENTILE = 95.0
"""The recording's loud level: this percentile of its frames' levels (frames of digital silence
left out), the louder part of its speech, whatever share of it is pauses."""
QUIET_DBFS = -40.0
"""A loud level under this is raised. The 268 recordings with speech in ``tests/fixtures`` and
``../shared/audio`` have theirs from -25.5 to -10.5 dBFS, so none of them is touched."""
TARGET_DBFS = -25.0
"""The loud level a quiet recording is raised to: the quietest of those recordings'."""
MAX_GAIN_DB = 50.0
"""The most a recording is raised: digital silence stays silence, and a recording of room
tone alone is raised to no more than this above where it was."""
PEAK_CEILING = 0.9
"""No raised sample goes past this (-0.9 dBFS): a recording with a loud click and quiet speech
is raised as far as the click allows, never clipped."""
_BLOCK = 60 * SAMPLE_RATE
"""Samples read at a time while measuring: a minute, so a long recording is never in memory."""


@dataclass(frozen=True, slots=True)
class Raised:
    """``source`` read through a gain of ``gain_db``."""

    source: AudioSource
    gain_db: float

    @property
    def samples(self) -> int:
        return self.source.samples

    def read(self, start: int, end: int) -> AudioArray:
        scaled: AudioArray = (self.source.read(start, end) * self._gain).astype(np.float32)
        return scaled

    @property
    def _gain(self) -> np.float32:
        return np.float32(10.0 ** (self.gain_db / 20.0))


def raised(source: AudioSource) -> AudioSource:
    """``source`` itself when its loud level is ``QUIET_DBFS`` or more, else read through the
    gain that brings it to ``TARGET_DBFS`` (at most ``MAX_GAIN_DB``, its peak kept under
    ``PEAK_CEILING``)."""
    loud_db, peak = loudness(source)
    if loud_db is None or loud_db >= QUIET_DBFS:
        return source  # digital silence, or loud enough
    headroom_db = 20.0 * float(np.log10(PEAK_CEILING / peak))
    # Rounded down, to the hundredth of a dB shown in the coverage: never past the ceiling.
    gain_db = math.floor(100.0 * min(TARGET_DBFS - loud_db, MAX_GAIN_DB, headroom_db)) / 100.0
    return Raised(source, gain_db) if gain_db > 0.0 else source


def gain_db(source: AudioSource) -> float:
    """The gain ``raised`` read ``source`` through (0 when none)."""
    return source.gain_db if isinstance(source, Raised) else 0.0


def loudness(source: AudioSource) -> tuple[float | None, float]:
    """The loud level of ``source`` in dBFS (``LOUD_PERCENTILE`` of its 50 ms frames' RMS; None
    when every frame is digital silence) and its peak sample, read a minute at a time."""
    levels: list[np.ndarray] = []
    peak = 0.0
    for start in range(0, source.samples, _BLOCK):
        block = source.read(start, start + _BLOCK)
        whole = len(block) // FRAME * FRAME
        if whole:
            frames = block[:whole].reshape(-1, FRAME).astype(np.float64)
            rms = np.sqrt(np.mean(frames**2, axis=1))
            levels.append(rms[rms > 0.0])
        if len(block):
            peak = max(peak, float(np.max(np.abs(block))))
    sounding = np.concatenate(levels) if levels else np.zeros(0)
    if not len(sounding):
        return None, peak
    return 20.0 * float(np.log10(np.percentile(sounding, LOUD_PERCENTILE))), peak
