"""The targeted second pass for fillers (``pipelines.second_pass``) and what metrics make of it.

The decoding itself is the model's; here a fake chunk transcriber stands in for it, so these
tests are about which stretches are sent, with which prompt, and which fillers are kept.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from pipelines.alignment import FRAME_S
from pipelines.fillers import is_filler
from pipelines.metrics import compute_metrics
from pipelines.second_pass import (
    FILLER_PROMPT,
    SUSPECT_CONTEXT_S,
    HeardFiller,
    second_pass,
    supported_fillers,
    suspect_windows,
)
from pipelines.types import SAMPLE_RATE, ChunkTranscript, Segment, TranscriptionOptions, Word

ALL_VOICED = np.ones(1000, dtype=bool)


def word(text: str, start: float, end: float, probability: float = 0.95) -> Word:
    return Word(text, start, end, probability)


class TestFillers:
    @pytest.mark.parametrize("text", ["um", "Umm,", "uh.", "er", "Erm", "ah", "hmm", "äh", "euh"])
    def test_filled_pauses(self, text: str) -> None:
        assert is_filler(text)

    @pytest.mark.parametrize("text", ["uh-huh", "mm-hmm", "mhm", "her", "a", "I'm", "umbrella"])
    def test_words_and_backchannels_are_not(self, text: str) -> None:
        assert not is_filler(text)


class TestSuspectWindows:
    def test_only_unsure_words_with_context_joined_where_they_touch(self) -> None:
        words = [
            word("So", 0.0, 0.4),
            word("I'm", 0.7, 0.84, 0.39),
            word("a", 0.84, 0.98, 0.29),
            word("meeting", 1.0, 1.3),
            word("cash", 5.0, 5.3, 0.03),
            word("Umm,", 8.0, 8.3, 0.1),  # a filler already written: nothing to look for
        ]
        assert suspect_windows(words, 10.0) == [
            (0.0, 0.98 + SUSPECT_CONTEXT_S),
            (5.0 - SUSPECT_CONTEXT_S, 5.3 + SUSPECT_CONTEXT_S),
        ]

    def test_confident_speech_sends_nothing(self) -> None:
        assert suspect_windows([word("fine", 0.0, 0.3), word("thanks", 0.3, 0.6)], 1.0) == []


class TestSupportedFillers:
    def test_a_filler_over_a_word_whisper_was_unsure_of_is_kept(self) -> None:
        first = [word("So,", 0.0, 0.66), word("I'm", 0.72, 0.84, 0.39), word("a", 0.84, 0.98, 0.29)]
        second = [word("So,", 0.0, 0.66), word("uh,", 0.8, 0.8, 0.01), word("the", 0.96, 0.96)]
        assert supported_fillers(first, second, ALL_VOICED) == [
            HeardFiller(start=0.8, end=0.8 + FRAME_S, text="uh")
        ]

    def test_a_filler_over_confident_words_is_the_prompt_copied(self) -> None:
        first = [word("So", 0.0, 0.4), word("the", 0.45, 0.6), word("meeting", 0.6, 0.9)]
        second = [word("So,", 0.0, 0.4), word("um,", 0.45, 0.5, 0.01), word("the", 0.5, 0.6)]
        assert supported_fillers(first, second, ALL_VOICED) == []

    def test_a_filler_the_first_pass_wrote_is_not_found_again(self) -> None:
        first = [word("Umm,", 0.0, 0.5, 0.3), word("I", 0.6, 0.7, 0.4)]
        second = [word("Um,", 0.0, 0.5, 0.01), word("I", 0.6, 0.7)]
        assert supported_fillers(first, second, ALL_VOICED) == []

    def test_between_words_only_on_voiced_audio(self) -> None:
        first = [word("noon,", 3.5, 3.9), word("but", 4.9, 5.2)]
        second = [word("noon,", 3.5, 3.9), word("um,", 4.3, 4.5, 0.01), word("but", 4.9, 5.2)]
        silent = np.zeros(1000, dtype=bool)
        assert supported_fillers(first, second, silent) == []
        assert [f.text for f in supported_fillers(first, second, ALL_VOICED)] == ["um"]


class TestSecondPass:
    def test_decodes_the_suspect_stretches_with_the_filler_prompt(self) -> None:
        sent: list[tuple[float, str | None]] = []

        async def send(start: int, end: int, options: TranscriptionOptions) -> ChunkTranscript:
            sent.append(((end - start) / SAMPLE_RATE, options.prompt))
            # Times relative to the window, which starts at 0.0 here.
            words = (word("So,", 0.0, 0.66), word("uh,", 0.8, 0.8, 0.01), word("the", 0.96, 1.0))
            segment = Segment(start=0.0, end=1.0, text="So, uh, the", words=words)
            return ChunkTranscript(segments=(segment,), language="en", backend="fake", model="f")

        first = [word("So,", 0.0, 0.66), word("I'm", 0.72, 0.84, 0.39), word("a", 0.84, 0.98, 0.2)]
        found = asyncio.run(
            second_pass(5 * SAMPLE_RATE, first, ALL_VOICED, TranscriptionOptions(prompt="x"), send)
        )
        assert sent == [(pytest.approx(0.98 + SUSPECT_CONTEXT_S), FILLER_PROMPT)]
        assert [f.text for f in found.fillers] == ["uh"]
        assert len(found.windows) == 1


class TestMetrics:
    def test_a_second_pass_filler_is_an_interjection_with_its_evidence(self) -> None:
        words = [word("So", 0.0, 0.4), word("I'm", 0.72, 0.84), word("meeting", 1.0, 1.3)]
        filler = HeardFiller(start=0.8, end=0.81, text="uh")
        metrics = compute_metrics(words, 2.0, fillers=[filler])
        [event] = metrics.disfluencies
        assert (event.type, event.text, event.evidence) == ("interjection", "uh", ("second_pass",))
        assert not event.stuttering_like
