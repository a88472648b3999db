"""Disfluency detection on the natural-pace labelled corpus, through the platform's own path.

Every clip of ``tests/fixtures/disfluency`` goes through ``benchmarks/disfluency_run.run_clip``
(decode, chunk, the Serve config's local model, coverage, the report generator's metrics) and is
scored by ``benchmarks/disfluency_eval``, as ``benchmarks/disfluency.py`` does. The floors below
are what the detectors reach today less a margin for other CPUs' decoding, so a regression
shows in CI; the goal of issue 11 (interjections and whole-word repetitions at 0.8, the other
types at 0.6) is higher, and the benchmark's table in the README says how far there is to go.
"""

from __future__ import annotations

import json

import pytest

from benchmarks.disfluency_eval import ClipResult, Evaluation, evaluate
from benchmarks.disfluency_run import run_corpus
from tests.fidelity import serve_config
from tests.support import FIXTURES

pytestmark = pytest.mark.model

CORPUS = FIXTURES / "disfluency"
RECALL_FLOORS = {
    "prolongation": 0.65,
    "block": 0.6,
    "repetition:phrase": 0.65,
    "repetition:part_word": 0.55,
    "repetition:whole_word": 0.65,
    "interjection": 0.5,
    "revision": 0.5,
}
"""Measured on an AMD EPYC (Zen 4): 0.91, 0.73, 0.82, 0.91, 0.91, 0.67, 0.64 (part-word 0.82
before a longer word written again over one-syllable copies counted as one; interjections
0.58 before a second-pass filler whisper gave no time stood for either word it touches; 0.82, 0.73,
0.82, 0.73, 0.82, 0.67, 0.64 on another run's decodes, before a syllable under a word whisper
only guessed counted as part-word); the three repetition kinds were 0.64, 0.36 and 0.27
before repetitions were also heard in the audio, interjections 0.42 before the second pass,
revisions 0.27 before phrases broken off on a word no phrase ends on and 0.45 before modal
restarts, prolongations 0.64 before a shorter onset heard running on into its word counted."""
PRECISION_FLOORS = {"interjection": 0.6, "repetition:whole_word": 0.6}
"""The two types issue 11 sets a precision goal for (0.8). Measured on an AMD EPYC (Zen 4),
2026-12-06: 0.89 and 0.83 natively, 0.89 and 0.75 with ``CT2_FORCE_CPU_ISA=GENERIC`` (one more
part-word repetition typed whole-word)."""
PRECISION_FLOOR = 0.8
"""Measured: 0.94 over every type (0.84 before hums against a prolongation were that sound)."""
RECALL_FLOOR = 0.6
"""Measured: 0.79 over every type (0.47 before repetitions heard in the audio, 0.38 before
timing and acoustic evidence)."""


@pytest.fixture(scope="module")
def evaluation() -> Evaluation:
    """Two processes of one thread each, half the clips each (``run_corpus``)."""
    entries = json.loads((CORPUS / "truth.json").read_text())["clips"]
    config = serve_config().model_copy(update={"cpu_threads": 1})
    runs = run_corpus([CORPUS / e["file"] for e in entries], config, processes=2)
    return evaluate([ClipResult.from_run(e, m) for e, (_, m, _) in zip(entries, runs, strict=True)])


def test_fluent_speech_gets_no_events(evaluation: Evaluation) -> None:
    assert evaluation.control_clips >= 8
    assert evaluation.false_events_per_100_syllables is not None
    assert evaluation.false_events_per_100_syllables <= 1.0


def test_detection_holds_its_floors(evaluation: Evaluation) -> None:
    total = evaluation.total
    assert total.precision is not None and total.precision >= PRECISION_FLOOR, total
    assert total.recall is not None and total.recall >= RECALL_FLOOR, total
    for label, floor in RECALL_FLOORS.items():
        score = evaluation.labels[label]
        assert score.recall is not None and score.recall >= floor, (label, score)
    for label, floor in PRECISION_FLOORS.items():
        score = evaluation.labels[label]
        assert score.precision is not None and score.precision >= floor, (label, score)


def test_percent_ss_is_close_on_most_clips(evaluation: Evaluation) -> None:
    """Within ±1.5 points of the truth on 53 of 59 clips here (41 before repetitions heard in
    the audio)."""
    summary = evaluation.percent_ss_summary()
    assert summary["within_goal"] >= 47, summary
