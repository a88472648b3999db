"""Disfluent clips joined into one recording, as a clinician records a session, through the
platform's own path (``benchmarks/disfluency_run.run_session``, as ``disfluency.py --session``).

A clip alone is shorter than a whisper window and is decoded sequentially; joined, the clips go
through the chunk plan, batched windows decoded without the text before them (and without
whisper's temperature fallback) and packed second-pass stretches. The fresh set is used: it is
only ever measured, never tuned on. What is asserted holds whatever CPU decodes it: no decoder
loop is left in the transcript, no clip's speech is lost, and the session's %SS and the fluent
clips' false events stay within issue 11's bounds.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import partial
from typing import Any

import pytest

from benchmarks.disfluency_eval import (
    PERCENT_SS_GOAL,
    ClipResult,
    Evaluation,
    clip_at,
    evaluate,
    in_session,
    pooled_percent_ss,
)
from benchmarks.disfluency_run import map_fresh, run_session
from pipelines.coverage import looped_speech
from pipelines.types import Span, Transcript
from tests.fidelity import serve_config
from tests.support import FIXTURES

pytestmark = pytest.mark.model

CORPUS = FIXTURES / "disfluency_fresh"
GAP_S = 1.2
"""Silence between the clips: a pause between two utterances, longer than a block's 1 s."""
SAID_SHARE = 0.5
"""Of a clip's reference words, the share the session's transcript must hold in the clip's
time (0.70-0.80 at least on each of the five sets, natively and under GENERIC kernels)."""
PRECISION_FLOOR = 0.6
RECALL_FLOOR = 0.5
"""Over every type. Measured on this set: 0.78 / 0.64 with AVX2 kernels, 0.86 / 0.73 under
GENERIC (a 2-core AMD EPYC)."""


@pytest.fixture(scope="module")
def session() -> tuple[list[dict[str, Any]], Transcript, dict[str, Any], list[Span]]:
    entries: list[dict[str, Any]] = json.loads((CORPUS / "truth.json").read_text())["clips"]
    # The Serve config as it is (one thread a replica): how a session is decoded in production.
    # In a process of its own: its event loop is not the test session's (``asyncio.run`` here
    # would leave the platform tests after it without theirs).
    run = partial(run_session, config=serve_config(), gap_s=GAP_S)
    (transcript, metrics, _), clips = map_fresh(run, [[CORPUS / e["file"] for e in entries]], 1)[0]
    return entries, transcript, metrics, clips


@pytest.fixture(scope="module")
def evaluation(
    session: tuple[list[dict[str, Any]], Transcript, dict[str, Any], list[Span]],
) -> Evaluation:
    entries, _, metrics, clips = session
    dealt = in_session(metrics["disfluencies"], clips, GAP_S)
    return evaluate(
        [
            ClipResult.of(entry, events, percent_ss=None)
            for entry, events in zip(entries, dealt, strict=True)
        ]
    )


def test_no_decoder_loop_is_left(
    session: tuple[list[dict[str, Any]], Transcript, dict[str, Any], list[Span]],
) -> None:
    _, transcript, _, _ = session
    assert looped_speech(transcript.words()) == []


def test_every_clip_keeps_its_words(
    session: tuple[list[dict[str, Any]], Transcript, dict[str, Any], list[Span]],
) -> None:
    entries, transcript, _, clips = session
    held = Counter(clip_at(w.middle, clips, GAP_S) for w in transcript.words())
    for k, entry in enumerate(entries):
        assert held[k] >= SAID_SHARE * len(entry["text"].split()), (entry["file"], held[k])


def test_the_sessions_percent_ss_is_within_the_goal(
    session: tuple[list[dict[str, Any]], Transcript, dict[str, Any], list[Span]],
) -> None:
    entries, _, metrics, _ = session
    truth = pooled_percent_ss(entries)
    assert truth is not None
    detected = metrics["percent_syllables_stuttered"]
    assert abs(detected - truth) <= PERCENT_SS_GOAL, (detected, truth)


def test_fluent_clips_get_at_most_one_false_event_per_100_syllables(
    evaluation: Evaluation,
) -> None:
    assert evaluation.control_clips >= 4
    assert evaluation.false_events_per_100_syllables is not None
    assert evaluation.false_events_per_100_syllables <= 1.0


def test_events_are_found_in_a_session(evaluation: Evaluation) -> None:
    precision, recall = evaluation.total.precision, evaluation.total.recall
    assert precision is not None and precision >= PRECISION_FLOOR, evaluation.labels
    assert recall is not None and recall >= RECALL_FLOOR, evaluation.labels
