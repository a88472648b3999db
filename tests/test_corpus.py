"""No speech is lost: the platform's path against raw sequential decoding, on a varied corpus.

Each recording of ``tests/fixtures/long`` (voices, rates, pauses, noise, telephone band, a 60 s
silence, speech into the last half second, a sentence across a chunk cut) goes once through raw
``WhisperModel.transcribe`` and once through the platform's chunk → fan out → merge → coverage
path with the Serve config's local transcriber. The bounds are relative to raw decoding on the
same machine, so they hold on any CPU (``make test`` runs them again under a forced ISA).
The 10-minute recording goes through the real Serve deployments in ``test_recordings.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from benchmarks.disfluency_run import map_fresh
from deployments.local_whisper import LocalWhisperTranscriber
from pipelines.audio import decode
from pipelines.coverage import Sound
from pipelines.metrics import compute_metrics
from pipelines.types import Transcript
from tests.fidelity import (
    CORPUS,
    DELETIONS,
    FILE_WER,
    POOLED_WER,
    Fidelity,
    chunked,
    corpus,
    fidelity,
    lost_runs,
    raw_sequential,
    reference,
    serve_config,
)

pytestmark = pytest.mark.model

SHORT = [str(e["name"]) for e in corpus() if float(str(e["duration_s"])) < 300]


@dataclass(frozen=True)
class Pair:
    raw: Fidelity
    platform: Fidelity
    transcript: Transcript


PROCESSES = 2
"""Processes of one thread decoding at once: the checks around the model (VAD, levels,
repeats, the second pass's packing) run on one core, so one process of two threads left a
core idle."""
SIDES = ("raw", "platform")


@pytest.fixture(scope="module")
def results() -> dict[str, Pair]:
    """Every short file, raw and through the platform path, each side of each file in a new
    process, seeded alike (``map_fresh``): whisper's temperature fallback samples,
    so neither side's figures depend on what was decoded before it, on how the files are dealt
    out, or on a seed drawn at random."""
    tasks = [(name, side) for name in SHORT for side in SIDES]
    done = dict(zip(tasks, map_fresh(decoded, tasks, PROCESSES), strict=True))
    pairs = {}
    for name in SHORT:
        raw, transcript = done[(name, "raw")], done[(name, "platform")]
        assert isinstance(raw, str) and isinstance(transcript, Transcript)
        pairs[name] = Pair(
            raw=fidelity(reference(name), raw),
            platform=fidelity(reference(name), transcript.text),
            transcript=transcript,
        )
    return pairs


def decoded(task: tuple[str, str]) -> str | Transcript:
    """One file (``task``'s name) by one side, on one thread: raw decoding's text, or the
    platform path's transcript (the Serve config's local transcriber)."""
    name, side = task
    audio = decode(CORPUS / f"{name}.opus")
    if side == "raw":
        return raw_sequential(audio, threads=1)
    return chunked(LocalWhisperTranscriber(serve_config()), audio)


@pytest.mark.parametrize("name", SHORT)
def test_platform_loses_no_more_than_raw_decoding(name: str, results: dict[str, Pair]) -> None:
    pair = results[name]
    raw, platform = pair.raw, pair.platform
    detail = (name, raw, platform, pair.transcript.coverage)
    assert platform.deletion_rate <= raw.deletion_rate + DELETIONS, detail
    assert lost_runs(platform, raw) == [], detail
    assert platform.wer <= raw.wer + FILE_WER, detail


def test_pooled_error_rate_is_within_a_point_of_raw(results: dict[str, Pair]) -> None:
    pairs = [results[name] for name in SHORT]
    words = sum(p.raw.reference_words for p in pairs)
    raw = sum(p.raw.errors for p in pairs) / words
    platform = sum(p.platform.errors for p in pairs) / words
    assert platform <= raw + POOLED_WER, (platform, raw)


def test_fluent_speech_gains_at_most_one_event_per_100_syllables(results: dict[str, Pair]) -> None:
    """The corpus is fluent: what the timing and acoustic evidence adds to the transcript's
    own events is the detectors' false alarms."""
    for name in SHORT:
        transcript = results[name].transcript
        duration = float(str(next(e for e in corpus() if e["name"] == name)["duration_s"]))
        sounds = [Sound(**s) for s in transcript.coverage["sounds"]]
        words_only = compute_metrics(transcript.words(), duration)
        with_sounds = compute_metrics(transcript.words(), duration, sounds=sounds)
        gained = len(with_sounds.disfluencies) - len(words_only.disfluencies)
        assert 100 * gained / with_sounds.syllable_count <= 1.0, (name, with_sounds.disfluencies)


def test_every_voiced_stretch_has_words(results: dict[str, Pair]) -> None:
    """After repairs, what voiced audio is left without words is under 2 % of it per file."""
    for name in SHORT:
        coverage = results[name].transcript.coverage
        assert coverage["unrecovered_s"] <= 0.02 * coverage["voiced_s"], (name, coverage)
