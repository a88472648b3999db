"""Fluent speech with long digital silence beside it (a recorder started early, a gap left at
the end, a silence spliced in) is scored as fluent: the silence is no part of the speech's
level (``pipelines.alignment.Voicing``).

Measured before: JFK after 20 s of zeros had %SS 7.1 ("ask" and "what" drawn out), 10.7 with
the zeros after it; the first 15 s of ``noise_20db`` (a synthetic voice over noise 20 dB under
it) 1.7 and 3.3 ("Martin" drawn out). The zeros put the floor 60 dB under the speech, so the
noise between words counted as voiced: the pauses under whisper's words were not found and
the words read as prolongations. Alone, each has none.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.disfluency_run import run_audio
from deployments.local_whisper import LocalWhisperTranscriber
from deployments.report_generator import ReportGenerator
from pipelines.audio import decode
from pipelines.types import SAMPLE_RATE, AudioArray
from tests.fidelity import serve_config
from tests.support import FIXTURES, SHARED_AUDIO

pytestmark = pytest.mark.model

RECORDINGS = {
    "jfk": (SHARED_AUDIO / "jfk.flac", 11.0),  # recorded, a room's noise under it
    "noise_20db": (FIXTURES / "long" / "noise_20db.opus", 15.0),
}
"""Each recording and how many of its first seconds to take."""
SILENCE_S = 20.0


@cache
def transcriber() -> LocalWhisperTranscriber:
    return LocalWhisperTranscriber(serve_config())


def speech(name: str) -> AudioArray:
    path, seconds = RECORDINGS[name]
    return decode(Path(path))[: round(seconds * SAMPLE_RATE)]


def metrics_of(audio: AudioArray) -> dict[str, Any]:
    return run_audio(audio, transcriber(), ReportGenerator(chat_clients=()))[1]


@pytest.mark.parametrize("name", sorted(RECORDINGS))
@pytest.mark.parametrize("where", ["before", "after"])
def test_fluent_speech_beside_long_digital_silence_is_scored_fluent(name: str, where: str) -> None:
    zeros = np.zeros(round(SILENCE_S * SAMPLE_RATE), dtype=np.float32)
    pieces = [zeros, speech(name)] if where == "before" else [speech(name), zeros]
    metrics = metrics_of(np.concatenate(pieces))
    # Issue 11's bound for fluent speech: at most one false event per 100 syllables.
    assert metrics["stuttering_like_disfluencies"] <= metrics["syllable_count"] / 100, metrics
    assert metrics["counts_by_type"]["prolongation"] == 0, metrics["disfluencies"]
    assert metrics["percent_syllables_stuttered"] <= 1.5
    assert metrics["pause_count"] >= 2  # the pauses between the phrases are found
