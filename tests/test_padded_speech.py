"""Fluent speech with a long stretch far quieter than it beside it (digital silence, a recorder
started before the microphone was live, a gap left at the end) is scored as fluent: the
stretch is no part of the speech's level (``pipelines.alignment.Voicing``).

Measured before: JFK after 20 s of zeros had %SS 7.1 ("ask" and "what" drawn out), 10.7 with
the zeros after it; the first 15 s of ``noise_20db`` (a synthetic voice over noise 20 dB under
it) 1.7 and 3.3 ("Martin" drawn out); JFK after 20 s of noise at -65 dBFS 7.1. The zeros put
the floor 60 dB under the speech, so the noise between words counted as voiced: the pauses
under whisper's words were not found and the words read as prolongations. Alone, each has
none.
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
from pipelines.types import SAMPLE_RATE, AudioArray, Transcript
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


CASES = [
    ("jfk", "before", None),
    ("jfk", "after", None),
    ("noise_20db", "before", None),
    ("noise_20db", "after", None),
    ("jfk", "before", -65.0),  # a microphone not live yet: noise 24 dB under his room's
]
"""Recording, where the quiet stretch is, and its noise level in dBFS (None: zeros)."""


@pytest.mark.parametrize(("name", "where", "quiet_dbfs"), CASES)
def test_fluent_speech_beside_a_long_quiet_stretch_is_scored_fluent(
    name: str, where: str, quiet_dbfs: float | None
) -> None:
    n = round(SILENCE_S * SAMPLE_RATE)
    quiet = (
        np.zeros(n)
        if quiet_dbfs is None
        else 10 ** (quiet_dbfs / 20) * np.random.default_rng(0).standard_normal(n)
    )
    pieces = [quiet, speech(name)] if where == "before" else [speech(name), quiet]
    metrics = metrics_of(np.concatenate(pieces).astype(np.float32))
    # Issue 11's bound for fluent speech: at most one false event per 100 syllables.
    assert metrics["stuttering_like_disfluencies"] <= metrics["syllable_count"] / 100, metrics
    assert metrics["counts_by_type"]["prolongation"] == 0, metrics["disfluencies"]
    assert metrics["percent_syllables_stuttered"] <= 1.5
    assert metrics["pause_count"] >= 2  # the pauses between the phrases are found


@cache
def joined_takes(name: str, quiet_first: bool) -> tuple[Transcript, dict[str, Any]]:
    """The transcript and metrics of recording ``name`` joined to itself 20 dB lower (that
    take first or second), decoded once for the tests that read them."""
    loud = speech(name)
    quiet = 10 ** (-20 / 20) * loud
    audio = np.concatenate([quiet, loud] if quiet_first else [loud, quiet]).astype(np.float32)
    return run_audio(audio, transcriber(), ReportGenerator(chat_clients=()))


@pytest.mark.parametrize(("name", "quiet_first"), [("jfk", True), ("noise_20db", False)])
def test_fluent_speech_beside_the_same_speech_20_db_lower_is_scored_fluent(
    name: str, quiet_first: bool
) -> None:
    """Two takes joined, the second recorded 20 dB lower (or the first): measured over both,
    the floor was the quiet take's, and the loud take's words read as drawn out (%SS 8.6 with
    JFK's quiet take first: "And", "ask", "what", "Ask"; 2.6 with ``noise_20db``'s loud take
    first: "Laura.", "Martin", "last..."). Each take is now measured at its own level
    (``pipelines.alignment._parts``).

    JFK's own silences of 1.0-1.1 s inside his sentences are blocks that his other pauses may or
    may not match (``metrics._paced``): listed to review or counted as the decoding's commas
    fall, JFK alone too. Whatever else is counted is a false event."""
    metrics = joined_takes(name, quiet_first)[1]
    assert metrics["counts_by_type"]["prolongation"] == 0, metrics["disfluencies"]
    assert {e["type"] for e in metrics["disfluencies"]} <= {"block"}, metrics["disfluencies"]


def test_a_quieter_take_over_the_same_room_noise_is_transcribed() -> None:
    """JFK, then JFK again 20 dB lower over noise at his room's own level (10 dB under the
    quiet take's speech): a speaker further from the microphone. Whisper skipped the quiet take,
    raw decoding too, and the repair's words, laid under the whole recording's silence level
    and where Silero heard no speech, were dropped as made up: 22 words. The quiet take is
    voiced at its own level (``Voicing.heard``), so the repair's sentence stays."""
    loud = speech("jfk")
    frames = loud[: len(loud) // 320 * 320].astype(np.float64).reshape(-1, 320)
    room = float(np.percentile(np.sqrt(np.mean(frames**2, axis=1)), 10))
    noise = room * np.random.default_rng(0).standard_normal(len(loud))
    far = 10 ** (-20 / 20) * loud + noise
    transcript = run_audio(
        np.concatenate([loud, far]).astype(np.float32),
        transcriber(),
        ReportGenerator(chat_clients=()),
    )[0]
    said_again = [w for w in transcript.words() if w.start >= len(loud) / SAMPLE_RATE]
    assert len(said_again) >= 11, transcript.text  # half of the 22 words said


@pytest.mark.parametrize("joined", [False, True])
def test_no_closing_phrase_is_hung_on_the_end_of_the_speech(joined: bool) -> None:
    """Whisper ended JFK 20 dB louder, 24 % of its samples clipped, and JFK after his own take
    20 dB quieter, with "Thank you.": "Thank" at 0.02-0.03 and no duration, "you." over the end
    of "country" (``pipelines.coverage.without_made_up_ending``)."""
    if joined:
        transcript = joined_takes("jfk", quiet_first=True)[0]
    else:
        clipped = np.clip(10 * speech("jfk"), -1.0, 1.0).astype(np.float32)
        transcript = run_audio(clipped, transcriber(), ReportGenerator(chat_clients=()))[0]
    assert transcript.words()[-1].word.strip(".,!").lower() == "country", transcript.text
