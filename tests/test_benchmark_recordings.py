"""The recordings ``benchmarks/memory.py`` makes for itself, with PyAV (no ffmpeg): the lengths
and formats it asks for, so that its per-length peaks measure what they say."""

from __future__ import annotations

import importlib
import sys
import wave
from pathlib import Path
from types import ModuleType

import pytest

from pipelines.audio import decode
from pipelines.types import SAMPLE_RATE

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def memory() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module("memory")
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.mark.parametrize("minutes", [0.05, 2.0, 12.0])
def test_a_looped_recording_lasts_what_was_asked_less_a_tenth(
    memory: ModuleType, minutes: float, tmp_path: Path
) -> None:
    # 12 minutes is the 10-minute source once and a fifth: the second pass follows the first,
    # within the few milliseconds of Opus's decoder delay (pre-skip), not a gap or an overlap.
    audio = decode(memory.looped_recording(minutes, tmp_path))
    assert len(audio) / SAMPLE_RATE == pytest.approx(minutes * 60 - 0.1, abs=0.05)
    if minutes > 10:
        source = decode(memory.SOURCE)
        heard = source[SAMPLE_RATE : 6 * SAMPLE_RATE]
        start = len(source) + SAMPLE_RATE
        lags = [
            lag
            for lag in range(-SAMPLE_RATE // 50, SAMPLE_RATE // 50)
            if abs(audio[start + lag : start + lag + len(heard)] - heard).mean() < 0.001
        ]
        assert lags, "the second pass is not the source again"


def test_the_upload_is_a_16_khz_mono_wav_of_the_size_asked(
    memory: ModuleType, tmp_path: Path
) -> None:
    path = memory.large_wav(3, tmp_path)
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16_000)
        assert wav.getnframes() * 2 == pytest.approx(3 * memory.MB, abs=2)
