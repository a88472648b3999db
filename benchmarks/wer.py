"""Word errors as the benchmarks and the transcript-fidelity tests count them: case, punctuation
and spacing are ignored, so only the words themselves differ."""

from __future__ import annotations

from dataclasses import dataclass

import jiwer

NORMALISE = jiwer.Compose(
    [
        jiwer.ToLowerCase(),
        jiwer.RemovePunctuation(),
        jiwer.RemoveMultipleSpaces(),
        jiwer.Strip(),
        jiwer.ReduceToListOfListOfWords(),
    ]
)
"""Text to the list of its words (in a list), as every comparison here sees it."""


def align(reference: str, hypothesis: str) -> jiwer.WordOutput:
    """The word alignment of the normalised texts, with its counts."""
    return jiwer.process_words(
        reference, hypothesis, reference_transform=NORMALISE, hypothesis_transform=NORMALISE
    )


def wer(reference: str, hypothesis: str) -> float:
    return float(align(reference, hypothesis).wer)


@dataclass(frozen=True)
class WordErrors:
    wer: float
    deletions: int
    """Reference words missing from the hypothesis: lost speech."""


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    out = align(reference, hypothesis)
    return WordErrors(wer=float(out.wer), deletions=out.deletions)
