"""The targeted second pass for fillers (``pipelines.second_pass``) and what metrics make of it.

The decoding itself is the model's; here a fake chunk transcriber stands in for it, so these
tests are about which stretches are sent, with which prompt, and which fillers are kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

import pipelines.second_pass as second_pass_module
from pipelines.alignment import FRAME_S
from pipelines.audio import stretched
from pipelines.coverage import Sound
from pipelines.fillers import FILLER_LOOP, is_filler
from pipelines.metrics import compute_metrics
from pipelines.second_pass import (
    CALL_PACKS,
    FILLER_PROMPT,
    LOOKALIKE_PROBABILITY,
    PACK_GAP_S,
    SLOT_PAD_S,
    SUSPECT_CONTEXT_S,
    TEMPO,
    WELL_READ,
    HeardFiller,
    dealt,
    packed,
    second_pass,
    supported_fillers,
    suspect_windows,
)
from pipelines.types import (
    SAMPLE_RATE,
    AudioArray,
    ChunkTranscript,
    Segment,
    TranscriptionOptions,
    Word,
    audio_source,
)

ALL_VOICED = np.ones(1000, dtype=bool)


def word(text: str, start: float, end: float, probability: float = 0.95) -> Word:
    return Word(text, start, end, probability)


class TestFillers:
    @pytest.mark.parametrize(
        "text", ["um", "Umm,", "uh.", "er", "Erm", "ah", "hmm", "äh", "euh", "Ahm,", "urm", "Ähm"]
    )
    def test_filled_pauses(self, text: str) -> None:
        assert is_filler(text)

    @pytest.mark.parametrize(
        "text", ["uh-huh", "mm-hmm", "mhm", "her", "a", "I'm", "umbrella", "arm", "harm", "urn"]
    )
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

    def test_an_edge_inside_a_word_moves_out_to_its_edge(self) -> None:
        # "I was going to um bring the salad": "to" timed over the "um"; a stretch cut
        # inside it hears the "um" without the "to" and writes the filler in its place.
        words = [
            word("going", 0.96, 1.28),
            word("to", 1.28, 1.62),
            word("bring", 1.62, 2.02),
            word("the", 2.02, 2.3),
            word("salad", 2.3, 2.62, 0.34),
            word("to", 2.62, 2.88),
            word("the", 2.88, 3.02),
            word("picnic.", 3.02, 3.75),
        ]
        assert suspect_windows(words, 3.7) == [(1.28, 3.7)]
        # An edge between two words stays where it is.
        context = SUSPECT_CONTEXT_S
        assert suspect_windows(words[3:6], 5.0) == [(2.3 - context, 2.62 + context)]

    def test_a_filler_lookalike_is_a_suspect_up_to_its_own_probability(self) -> None:
        # "After lunch um we walked" written "After lunch, I'm reworked", "I'm" at 0.52.
        unsure = [word("lunch,", 0.74, 1.04), word("I'm", 1.08, 1.26, 0.52), word("we", 1.3, 1.5)]
        window = (1.08 - SUSPECT_CONTEXT_S, 1.26 + SUSPECT_CONTEXT_S)
        assert suspect_windows(unsure, 3.0) == [window]
        sure = [*unsure[:1], word("I'm", 1.08, 1.26, LOOKALIKE_PROBABILITY), *unsure[2:]]
        assert suspect_windows(sure, 3.0) == []
        # Other words need the ordinary threshold.
        assert suspect_windows([word("we", 1.08, 1.26, 0.52)], 3.0) == []

    def test_a_name_inside_a_sentence_is_not_a_suspect(self) -> None:
        # Fluent "and then Lucy tried to plant some herbs": whisper unsure of the name (0.47),
        # as of names in general; prompted with fillers it writes "then, erm, Lucy".
        words = [word("and", 0.0, 0.2), word("then", 0.2, 0.5), word("Lucy", 0.5, 0.9, 0.47)]
        assert suspect_windows(words, 3.0) == []
        # A capitalised word opening a sentence may be any word; "I'm" is no name.
        opening = [word("cabin.", 0.0, 0.5), word("Lucy", 0.5, 0.9, 0.47)]
        assert suspect_windows(opening, 3.0) == [(0.0, 0.9 + SUSPECT_CONTEXT_S)]
        lookalike = [word("then", 0.2, 0.5), word("I'm", 0.5, 0.9, 0.47)]
        assert suspect_windows(lookalike, 3.0) == [(0.0, 0.9 + SUSPECT_CONTEXT_S)]

    def test_confident_speech_sends_nothing(self) -> None:
        assert suspect_windows([word("fine", 0.0, 0.3), word("thanks", 0.3, 0.6)], 1.0) == []


class TestSupportedFillers:
    def test_a_filler_keeps_how_sure_whisper_was_of_the_rest_of_its_stretch(self) -> None:
        first = [word("So,", 0.0, 0.66), word("I'm", 0.72, 0.84, 0.39), word("a", 0.84, 0.98, 0.29)]
        second = [
            word("So,", 0.0, 0.66, 0.3),
            word("uh,", 0.8, 0.8, 0.01),
            word("the", 0.96, 0.96, 0.5),
        ]
        [filler] = supported_fillers(first, second, ALL_VOICED)
        assert filler.reading == pytest.approx(0.4)  # "So," and "the"; not the filler itself
        assert filler.doubtful
        assert HeardFiller(**filler.to_dict()).doubtful  # as the transcript stores it
        assert not HeardFiller(**{"start": 0.8, "end": 0.82, "text": "uh"}).doubtful  # older

    def test_a_filler_the_second_pass_went_on_from_with_the_first_pass_words_is_sure(
        self,
    ) -> None:
        # "uh the kids are um still" written "Her kids are still" ("Her" 0.20); prompted,
        # whisper wrote "Uh, the kids are up", its other words 0.56 on average: a guess, but
        # it went on from the filler with "kids" as the first pass wrote it.
        first = [
            word("Her", 0.38, 0.54, 0.2),
            word("kids", 0.54, 0.94, 0.6),
            word("are", 0.94, 1.18, 0.78),
            word("still", 1.18, 1.58, 0.83),
        ]
        second = [
            word("Uh,", 0.32, 0.54, 0.03),
            word("the", 0.67, 0.75, 0.62),
            word("kids", 0.74, 0.97, 0.79),
            word("are", 0.97, 1.15, 0.66),
            word("up", 1.15, 1.39, 0.16),
        ]
        [filler] = supported_fillers(first, second, ALL_VOICED)
        assert filler.reading < WELL_READ and filler.resumed
        assert not filler.doubtful
        assert not HeardFiller(**filler.to_dict()).doubtful  # as the transcript stores it
        # Written in place of the stretch's last word, with nothing after it ("not at seven."
        # against "It, not at, erm,"): whisper read its prompt in where a word was.
        first = [
            word("not", 3.11, 3.35, 0.98),
            word("at", 3.35, 3.71, 0.76),
            word("seven.", 3.71, 4.05, 0.22),
        ]
        second = [
            word("It,", 2.71, 2.87, 0.06),
            word("not", 3.14, 3.38, 0.96),
            word("at,", 3.38, 3.67, 0.67),
            word("erm,", 3.67, 3.94, 0.15),
        ]
        [filler] = supported_fillers(first, second, ALL_VOICED)
        assert not filler.resumed and filler.doubtful
        # Nor is one followed only by words the first pass did not write.
        second = [word("Uh,", 0.32, 0.54, 0.03), word("the", 0.67, 0.75, 0.3)]
        second += [word("kits", 0.74, 0.97, 0.3), word("up", 0.97, 1.39, 0.16)]
        [filler] = supported_fillers([word("Her", 0.38, 0.54, 0.2)], second, ALL_VOICED)
        assert not filler.resumed and filler.doubtful

    def test_a_filler_over_a_word_whisper_was_unsure_of_is_kept(self) -> None:
        first = [word("So,", 0.0, 0.66), word("I'm", 0.72, 0.84, 0.39), word("a", 0.84, 0.98, 0.29)]
        second = [word("So,", 0.0, 0.66), word("uh,", 0.8, 0.8, 0.01), word("the", 0.96, 0.96)]
        assert supported_fillers(first, second, ALL_VOICED) == [
            HeardFiller(start=0.8, end=0.8 + FRAME_S, text="uh", reading=0.95)
        ]

    def test_a_filler_given_no_time_between_an_unsure_word_and_a_sure_one_is_kept(self) -> None:
        # "So uh the meeting" written "So on the meeting" ("on" 0.11): the second pass's "um"
        # has no length, at the end of "on" and the start of "the" (0.75). Either may be it.
        first = [
            word("So", 0.38, 0.67, 0.47),
            word("on", 0.67, 0.81, 0.11),
            word("the", 0.81, 0.97),
        ]
        second = [word("So,", 0.38, 0.8), word("um,", 0.81, 0.81, 0.01), word("the", 0.81, 0.97)]
        assert [f.text for f in supported_fillers(first, second, ALL_VOICED)] == ["um"]
        # Beside two words whisper was sure of, it is the prompt copied.
        sure = [first[0], word("on", 0.67, 0.81, 0.9), first[2]]
        assert supported_fillers(sure, second, ALL_VOICED) == []

    def test_a_filler_over_an_unsure_name_is_the_prompt_copied(self) -> None:
        first = [word("then", 0.2, 0.5), word("Lucy", 0.5, 0.9, 0.47), word("tried", 0.9, 1.2)]
        second = [word("then,", 0.2, 0.55), word("erm,", 0.55, 0.6, 0.3), word("Lucy", 0.6, 0.9)]
        assert supported_fillers(first, second, ALL_VOICED) == []
        # The same word opening a sentence is an ordinary suspect.
        opening = [word("then.", 0.2, 0.5), *first[1:]]
        assert [f.text for f in supported_fillers(opening, second, ALL_VOICED)] == ["erm"]

    def test_a_filler_over_a_lookalike_is_kept(self) -> None:
        first = [word("lunch,", 0.74, 1.04), word("I'm", 1.08, 1.26, 0.52), word("we", 1.3, 1.5)]
        second = [word("lunch,", 0.74, 1.04), word("um,", 1.1, 1.2, 0.01), word("we", 1.3, 1.5)]
        assert [f.text for f in supported_fillers(first, second, ALL_VOICED)] == ["um"]

    def test_a_filler_in_the_place_of_an_unsure_word_laid_on_its_sound_is_kept(self) -> None:
        # "well um I think" written "am I think" ("am" 0.49, laid on 1.02-1.04 s); the second
        # pass writes "Well, erm, I think", "erm" from 1.02 to 1.13 s, its middle on the sure "I".
        first = [word("am", 1.02, 1.04, 0.49), word("I", 1.04, 1.26), word("think", 1.26, 1.6)]
        second = [
            word("Well,", 0.59, 0.85, 0.21),
            word("erm,", 1.02, 1.13, 0.12),
            word("I", 1.22, 1.26),
            word("think", 1.26, 1.58),
        ]
        assert [f.text for f in supported_fillers(first, second, ALL_VOICED)] == ["erm"]
        # "am" is a lookalike: whisper's word for "um" is a suspect up to its own probability.
        surer = [word("am", 1.02, 1.04, 0.54), *first[1:]]
        assert [f.text for f in supported_fillers(surer, second, ALL_VOICED)] == ["erm"]
        # The unsure word beside the filler, not on its sound, is not the one it stands for.
        beside = [word("and", 0.8, 1.0, 0.49), *first[1:]]
        assert supported_fillers(beside, second, ALL_VOICED) == []
        # Unless it is a lookalike, whisper's word for that filler: "kid, I'm still" against
        # "kids are, erm, still", "erm" given no time 0.03 s after "I'm" (0.57), on "still".
        first = [word("kid,", 1.28, 1.46), word("I'm", 1.6, 1.84, 0.57), word("still", 1.84, 2.1)]
        second = [
            word("kids", 1.27, 1.45),
            word("are,", 1.45, 1.65),
            word("erm,", 1.87, 1.87, 0.64),
            word("still", 1.87, 2.06),
        ]
        assert [f.text for f in supported_fillers(first, second, ALL_VOICED)] == ["erm"]
        sure = [first[0], word("I'm", 1.6, 1.84, 0.9), first[2]]
        assert supported_fillers(sure, second, ALL_VOICED) == []

    def test_a_filler_over_confident_words_is_the_prompt_copied(self) -> None:
        first = [word("So", 0.0, 0.4), word("the", 0.45, 0.6), word("meeting", 0.6, 0.9)]
        second = [word("So,", 0.0, 0.4), word("um,", 0.45, 0.5, 0.01), word("the", 0.5, 0.6)]
        assert supported_fillers(first, second, ALL_VOICED) == []

    def test_a_filler_inside_a_confident_word_is_the_prompt_copied(self) -> None:
        # The unsure word is near enough for whisper's loose times, but the filler lies on
        # the sure one ("celebrate. Thank you." with a hallucinated, unsure "Thank").
        first = [word("celebrate.", 4.72, 5.1), word("Thank", 5.1, 5.26, 0.03)]
        second = [word("celebrate,", 4.72, 5.06), word("um.", 5.06, 5.08, 0.01)]
        assert supported_fillers(first, second, ALL_VOICED) == []

    def test_a_filler_on_the_silence_after_the_speech_is_not_said(self) -> None:
        # "... pick up the runner." (unsure) and the prompt's "Um" laid after it, on silence.
        voiced = np.zeros(1000, dtype=bool)
        voiced[: round(3.7 / FRAME_S)] = True
        first = [word("up", 2.89, 3.21), word("runner.", 3.37, 3.63, 0.4)]
        second = [*first, word("Um", 3.71, 4.13, 0.01)]
        assert supported_fillers(first, second, voiced) == []
        inside = [*first[:1], word("um,", 3.3, 3.4, 0.01), first[1]]
        assert [f.text for f in supported_fillers(first, inside, voiced)] == ["um"]

    def test_a_filler_the_first_pass_wrote_is_not_found_again(self) -> None:
        first = [word("Umm,", 0.0, 0.5, 0.3), word("I", 0.6, 0.7, 0.4)]
        second = [word("Um,", 0.0, 0.5, 0.01), word("I", 0.6, 0.7)]
        assert supported_fillers(first, second, ALL_VOICED) == []

    def test_a_filler_between_two_words_both_passes_wrote_stands_for_the_voiced_gap(
        self,
    ) -> None:
        # "Well, um, I think" written "Well, I think" with every word sure: the second pass
        # writes "erm" between "Well" and "I", timed over the end of "Well" and the start of
        # "I" (whisper's loose times); the first pass left 0.2 s of voiced audio between them.
        first = [word("Well,", 0.38, 0.7), word("I", 0.9, 0.9), word("think", 0.9, 1.26)]
        second = [
            word("Well,", 0.26, 0.68),
            word("erm,", 0.62, 0.94, 0.44),
            word("I", 1.02, 1.02),
            word("think", 1.02, 1.3),
        ]
        assert [f.text for f in supported_fillers(first, second, ALL_VOICED)] == ["erm"]
        # Silence between the two words: the pause is not a filler.
        silent_gap = ALL_VOICED.copy()
        silent_gap[round(0.7 / FRAME_S) : round(0.9 / FRAME_S) + 1] = False
        assert supported_fillers(first, second, silent_gap) == []
        # No room between them in either pass: the prompt copied into fluent speech.
        close = [first[0], word("I", 0.74, 0.74), word("think", 0.74, 1.26)]
        squeezed = [second[0], word("erm,", 0.68, 0.7, 0.44), *close[1:]]
        assert supported_fillers(close, squeezed, ALL_VOICED) == []
        # The first pass left no room, but the second timed its neighbours apart, with sound
        # all the way between them ("I think uh we should": "think" over the "uh" at first,
        # then "think, uh, we", 0.23 s apart): something is said there.
        assert [f.text for f in supported_fillers(close, second, ALL_VOICED)] == ["erm"]
        closure = ALL_VOICED.copy()
        closure[round(0.8 / FRAME_S) : round(0.88 / FRAME_S)] = False  # a stop, 80 ms
        assert [f.text for f in supported_fillers(close, second, closure)] == ["erm"]
        pause = ALL_VOICED.copy()
        pause[round(0.8 / FRAME_S) : round(0.9 / FRAME_S)] = False
        assert supported_fillers(close, second, pause) == []
        # Where the second pass wrote other words around it, the alignment says nothing.
        reworded = [second[0], second[1], word("we", 1.02, 1.1), word("thought", 1.1, 1.3)]
        assert supported_fillers(first, reworded, ALL_VOICED) == []

    def test_two_fillers_with_words_between_are_two_and_side_by_side_one(self) -> None:
        # "think um we should uh leave": the fillers' times 0.4 s apart.
        first = [
            word("think", 0.0, 0.3),
            word("that", 0.3, 0.5, 0.3),
            word("we", 0.5, 0.6),
            word("should", 0.6, 0.8),
            word("a", 0.8, 0.9, 0.2),
            word("leave", 0.9, 1.2),
        ]
        # The second pass writes a filler for each word the first was unsure of.
        second = [
            word("um," if w.word == "that" else "uh,", w.start, w.end, 0.1)
            if w.probability < 0.5
            else w
            for w in first
        ]
        assert [f.text for f in supported_fillers(first, second, ALL_VOICED)] == ["um", "uh"]
        side_by_side = [*second[:2], word("uh,", 0.45, 0.55, 0.1), *second[2:4]]
        assert [f.text for f in supported_fillers(first, side_by_side, ALL_VOICED)] == ["um"]

    def test_between_words_only_on_voiced_audio(self) -> None:
        first = [word("noon,", 3.5, 3.9), word("but", 4.9, 5.2)]
        second = [word("noon,", 3.5, 3.9), word("um,", 4.3, 4.5, 0.01), word("but", 4.9, 5.2)]
        silent = np.zeros(1000, dtype=bool)
        assert supported_fillers(first, second, silent) == []
        assert [f.text for f in supported_fillers(first, second, ALL_VOICED)] == ["um"]


class TestSecondPass:
    def test_decodes_the_suspect_stretches_with_the_filler_prompt(self) -> None:
        sent: list[tuple[float, str | None, Any]] = []

        async def send(
            read: Callable[[], AudioArray], options: TranscriptionOptions
        ) -> ChunkTranscript:
            sent.append((len(read()) / SAMPLE_RATE, options.prompt, options.windows))
            # Times relative to the window, which starts at 0.0 here, in the slowed audio.
            times = ((0.0, 0.66), (0.8, 0.8), (0.96, 1.0))
            slow = [(a / TEMPO, b / TEMPO) for a, b in times]
            words = (word("So,", *slow[0]), word("uh,", *slow[1], 0.01), word("the", *slow[2]))
            segment = Segment(start=0.0, end=1.0, text="So, uh, the", words=words)
            return ChunkTranscript(segments=(segment,), language="en", backend="fake", model="f")

        first = [word("So,", 0.0, 0.66), word("I'm", 0.72, 0.84, 0.39), word("a", 0.84, 0.98, 0.2)]
        audio = audio_source(np.zeros(5 * SAMPLE_RATE, dtype=np.float32))
        found = asyncio.run(
            second_pass(audio, first, ALL_VOICED, TranscriptionOptions(prompt="x"), send)
        )
        # The stretch, slowed, and a little silence after it: one window.
        slot = pytest.approx((0.98 + SUSPECT_CONTEXT_S) / TEMPO + SLOT_PAD_S, abs=1e-3)
        assert sent == [(slot, FILLER_PROMPT, ((0.0, slot),))]
        assert [f.text for f in found.fillers] == ["uh"]
        assert len(found.windows) == 1

    def test_a_filler_timed_over_the_silence_before_it_starts_where_its_sound_does(self) -> None:
        """Whisper starts a stretch's first word at the stretch's start, over the silence
        before the speech ("Er" 0.01-0.42 for an "uh" said at 0.32): started where the voiced
        audio does, it is the sound whisper wrote as "Oh"."""

        async def send(
            read: Callable[[], AudioArray], options: TranscriptionOptions
        ) -> ChunkTranscript:
            words = (
                word("Er,", 0.01 / TEMPO, 0.42 / TEMPO, 0.01),
                word("the", 0.6 / TEMPO, 0.7 / TEMPO),
            )
            segment = Segment(start=0.0, end=1.0, text="Er, the", words=words)
            return ChunkTranscript(segments=(segment,), language="en", backend="fake", model="f")

        first = [word("Oh,", 0.32, 0.54, 0.04), word("no", 0.6, 0.7, 0.6)]
        voiced = np.ones(round(5 / FRAME_S), dtype=bool)
        voiced[: round(0.32 / FRAME_S)] = False
        audio = audio_source(np.zeros(5 * SAMPLE_RATE, dtype=np.float32))
        found = asyncio.run(second_pass(audio, first, voiced, TranscriptionOptions(), send))
        [filler] = found.fillers
        assert (filler.text, filler.start, filler.end) == pytest.approx(("Er", 0.32, 0.42))
        # Untrimmed, it is mostly silence, and a filler on silence is not said.
        assert supported_fillers(first, [word("Er,", 0.01, 0.42, 0.01)], voiced) == []

    def test_a_first_word_wholly_on_the_silence_before_the_speech_is_its_first_sound(
        self,
    ) -> None:
        """ "uh I need" written "But I need": the second pass laid its "Er" at the stretch's
        start, 0.02 s long, wholly on the silence before the "uh"; it was said with the first
        sound after it, up to the next word."""

        def heard(*words: Word) -> Callable[..., Awaitable[ChunkTranscript]]:
            async def send(
                read: Callable[[], AudioArray], options: TranscriptionOptions
            ) -> ChunkTranscript:
                slowed = tuple(replace(w, start=w.start / TEMPO, end=w.end / TEMPO) for w in words)
                segment = Segment(start=0.0, end=1.0, text="", words=slowed)
                return ChunkTranscript(
                    segments=(segment,), language="en", backend="fake", model="f"
                )

            return send

        first = [word("But", 0.32, 0.46, 0.35), word("I", 0.46, 0.6, 0.97)]
        voiced = np.ones(round(5 / FRAME_S), dtype=bool)
        voiced[: round(0.32 / FRAME_S)] = False
        audio = audio_source(np.zeros(5 * SAMPLE_RATE, dtype=np.float32))
        send = heard(word("Er,", 0.0, 0.02, 0.01), word("I", 0.56, 0.6))
        found = asyncio.run(second_pass(audio, first, voiced, TranscriptionOptions(), send))
        [filler] = found.fillers
        assert (filler.text, filler.start, filler.end) == pytest.approx(("Er", 0.32, 0.56))
        # Alone in its stretch, it has no next word to run to: it stays, on the silence.
        alone = heard(word("Er,", 0.0, 0.02, 0.01))
        found = asyncio.run(second_pass(audio, first, voiced, TranscriptionOptions(), alone))
        assert found.fillers == ()
        # With no sound before the next word, it stays on the silence: not said.
        voiced[: round(0.56 / FRAME_S)] = False
        found = asyncio.run(second_pass(audio, first, voiced, TranscriptionOptions(), send))
        assert found.fillers == ()

    def test_stretches_are_packed_into_whisper_windows_and_their_words_sent_back(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Each stretch's own samples, silence between, slowed; words come back in recording
        time."""
        packed_audio: list[AudioArray] = []

        def slowed(samples: AudioArray, tempo: float) -> AudioArray:
            packed_audio.append(samples)
            return stretched(samples, tempo)

        monkeypatch.setattr(second_pass_module, "stretched", slowed)
        ramp = np.arange(60 * SAMPLE_RATE, dtype=np.float32) / SAMPLE_RATE  # sample = its time
        audio = audio_source(ramp)
        first = [word("x", t, t + 0.2, 0.1) for t in (5.0, 20.0, 40.0, 55.0)] + [
            word("y", 10.0, 10.2)
        ]
        windows = suspect_windows(first, 60.0)
        packs = packed(windows)
        assert [len(p) for p in packs] == [4]  # four 2.2 s stretches fit one window
        received: list[AudioArray] = []

        async def send(
            read: Callable[[], AudioArray], options: TranscriptionOptions
        ) -> ChunkTranscript:
            samples = read()
            received.append(samples)
            # An "um" 0.5 s into each stretch of the packed audio, in the slowed audio's time.
            step = 2.2 + PACK_GAP_S
            words = tuple(
                word("um,", (i * step + 0.5) / TEMPO, (i * step + 0.7) / TEMPO, 0.01)
                for i in range(4)
            )
            segment = Segment(start=0.0, end=4 * step, text="um", words=words)
            return ChunkTranscript(segments=(segment,), language="en", backend="fake", model="f")

        voiced = np.ones(round(60 / FRAME_S), dtype=bool)
        found = asyncio.run(second_pass(audio, first, voiced, TranscriptionOptions(), send))
        [samples] = packed_audio
        gap = round(PACK_GAP_S * SAMPLE_RATE)
        stretch = round(2.2 * SAMPLE_RATE)
        assert len(samples) == 4 * stretch + 3 * gap
        [slow] = received
        assert len(slow) / len(samples) == pytest.approx(1 / TEMPO, abs=0.05)
        for i, (start, _) in enumerate(windows):
            at = i * (stretch + gap)
            assert samples[at] == pytest.approx(start, abs=1e-3)
            if i < 3:
                assert not samples[at + stretch : at + stretch + gap].any()
        assert [round(f.start, 2) for f in found.fillers] == [w[0] + 0.5 for w in windows]

    @pytest.mark.parametrize("spread", [1, 2, 3])
    @pytest.mark.parametrize("count", [0, 1, 2, 3, 5, 9, 12, 17])
    def test_packs_are_dealt_evenly_into_calls_of_one_batch(self, count: int, spread: int) -> None:
        packs = [[(float(i), i + 1.0)] for i in range(count)]
        calls = dealt(packs, spread)
        assert [p for call in calls for p in call] == packs  # all of them, in order
        assert all(0 < len(call) <= CALL_PACKS for call in calls)
        if calls:
            assert max(map(len, calls)) - min(map(len, calls)) <= 1
            # As few calls as one batch each allows, in a multiple of the spread where there
            # are packs enough to give each call one.
            fewest = -(-count // CALL_PACKS)
            assert len(calls) == min(count, fewest + -fewest % spread)

    def test_packs_of_one_call_are_windows_of_their_own_and_their_words_come_back(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Two packs in one call: each slowed in a slot of its own, named in the options'
        windows; a word is placed by the slot and the stretch its middle falls in."""
        ramp = np.arange(60 * SAMPLE_RATE, dtype=np.float32) / SAMPLE_RATE
        audio = audio_source(ramp)
        # Two stretches 2.2 s long, too long together for one 4 s pack: two packs.
        first = [word("x", t, t + 0.2, 0.1) for t in (5.0, 40.0)]
        windows = suspect_windows(first, 60.0)
        monkeypatch.setattr(second_pass_module, "PACK_S", 4.0)
        calls: list[tuple[int, tuple[tuple[float, float], ...] | None]] = []

        async def send(
            read: Callable[[], AudioArray], options: TranscriptionOptions
        ) -> ChunkTranscript:
            calls.append((len(read()), options.windows))
            assert options.windows is not None
            # An "um" 0.5 s into each stretch, in the slowed time of the call's audio.
            words = tuple(
                word("um,", start + 0.5 / TEMPO, start + 0.7 / TEMPO, 0.01)
                for start, _ in options.windows
            )
            segment = Segment(start=0.0, end=words[-1].end, text="um um", words=words)
            return ChunkTranscript(segments=(segment,), language="en", backend="fake", model="f")

        voiced = np.ones(round(60 / FRAME_S), dtype=bool)
        found = asyncio.run(second_pass(audio, first, voiced, TranscriptionOptions(), send))
        slot = 2.2 / TEMPO + SLOT_PAD_S
        [(samples, sent_windows)] = calls
        assert sent_windows is not None
        flat = [t for window in sent_windows for t in window]
        assert flat == pytest.approx([0.0, slot, slot, 2 * slot], abs=1e-3)
        assert samples == pytest.approx(2 * slot * SAMPLE_RATE, abs=2)
        assert [round(f.start, 2) for f in found.fillers] == [w[0] + 0.5 for w in windows]

    def test_a_filler_whisper_wrote_again_and_again_is_its_prompt_looping(self) -> None:
        """Two stretches in one pack: in the first, one "um" over an unsure word; in the second,
        whisper loops on "ah," (``FILLER_LOOP`` copies and more, some at one instant, some
        after a pause that breaks the run): none of them is a filler said, the "um" still is."""
        first = [word("I'm", 1.0, 1.2, 0.1), word("a", 10.0, 10.2, 0.1)]
        windows = suspect_windows(first, 20.0)
        assert len(packed(windows)) == 1
        gap = windows[1][0] - windows[0][1]

        async def send(
            read: Callable[[], AudioArray], options: TranscriptionOptions
        ) -> ChunkTranscript:
            # Slowed pack time: the second stretch starts where the first ends, plus the gap.
            second = (windows[0][1] - windows[0][0] + PACK_GAP_S) / TEMPO
            um = word("um,", 1.0 / TEMPO, 1.2 / TEMPO, 0.3)
            times = [second + 0.2 * k for k in range(FILLER_LOOP)]
            times += [times[-1] + 0.7, times[-1] + 0.7, times[-1] + 1.5]  # past FILLER_RUN_GAP_S
            loop = tuple(word("ah,", t, t, 0.99) for t in times)
            segment = Segment(start=0.0, end=loop[-1].end, text="um ah", words=(um, *loop))
            return ChunkTranscript(segments=(segment,), language="en", backend="fake", model="f")

        voiced = np.ones(round(20 / FRAME_S), dtype=bool)
        audio = audio_source(np.zeros(20 * SAMPLE_RATE, dtype=np.float32))
        found = asyncio.run(second_pass(audio, first, voiced, TranscriptionOptions(), send))
        assert gap > 0
        assert [(f.text, round(f.start, 2)) for f in found.fillers] == [("um", 1.0)]

    def test_a_long_stretch_is_a_pack_of_its_own(self) -> None:
        assert packed([(0.0, 2.0), (10.0, 40.0), (50.0, 52.0)]) == [
            [(0.0, 2.0)],
            [(10.0, 40.0)],
            [(50.0, 52.0)],
        ]
        # 2 s stretches, 0.6 s apart: 5 fit in 14 s, 100 take 20 windows.
        assert len(packed([(float(i), i + 2.0) for i in range(0, 300, 3)])) == 20


class TestMetrics:
    def test_a_second_pass_filler_is_an_interjection_with_its_evidence(self) -> None:
        words = [word("So", 0.0, 0.4), word("I'm", 0.72, 0.84), word("meeting", 1.0, 1.3)]
        filler = HeardFiller(start=0.8, end=0.81, text="uh")
        metrics = compute_metrics(words, 2.0, fillers=[filler])
        [event] = metrics.disfluencies
        assert (event.type, event.text, event.evidence) == ("interjection", "uh", ("second_pass",))
        assert not event.stuttering_like

    def test_a_filler_inside_another_event_is_that_event_read_again(self) -> None:
        # "We, we, we, we later": whisper's first "We," took the "uh" before the stutter too.
        words = [word(w, 0.38 + 0.2 * i, 0.56 + 0.2 * i) for i, w in enumerate("we we we".split())]
        words.append(word("later", 1.0, 1.3))
        before = HeardFiller(start=0.0, end=0.56, text="Um")  # its middle before the event
        inside = HeardFiller(start=0.62, end=0.7, text="uh")  # its middle in it
        metrics = compute_metrics(words, 2.0, fillers=[before, inside])
        assert [(e.type, e.text) for e in metrics.disfluencies] == [
            ("interjection", "Um"),
            ("repetition", "we we we"),
        ]

    def test_a_filler_over_a_sound_no_word_covers_is_that_sound_written(self) -> None:
        # "go, go, um swimming" written "go, go, I'm swimming": 0.38 s of voiced sound between
        # "go," and "I'm" is a filler to review; the second pass writes "um" at its end.
        words = [
            word("go,", 0.92, 1.26),
            word("I'm", 1.64, 1.74, 0.55),
            word("swimming", 1.74, 2.0),
        ]
        sound = Sound(start=1.26, end=1.64, noisy=False)
        alone = compute_metrics(words, 3.0, sounds=[sound])
        assert [(e.type, e.text) for e in alone.to_review] == [("interjection", "…")]
        assert not alone.disfluencies
        filler = HeardFiller(start=1.72, end=1.74, text="um")
        both = compute_metrics(words, 3.0, sounds=[sound], fillers=[filler])
        [event] = both.disfluencies
        assert (event.type, event.text, event.start, event.end) == (
            "interjection",
            "um",
            1.26,
            1.74,
        )
        assert event.evidence == ("timing", "acoustic", "second_pass")
        assert not both.to_review
        # The sound is the second sign, however well whisper read the stretch.
        guessed = replace(filler, reading=WELL_READ / 2)
        again = compute_metrics(words, 3.0, sounds=[sound], fillers=[guessed])
        assert [e.evidence for e in again.disfluencies] == [event.evidence]

    def test_a_filler_in_a_stretch_whisper_was_guessing_at_is_listed_to_review(self) -> None:
        # "The museum opens at ten" (fluent) read "Um, you'll be able to open that 10" by the
        # second pass, its other words at 0.49 on average: the "Um" is listed, not counted.
        words = [word("The", 0.3, 0.54, 0.33), word("museum", 0.54, 0.86, 0.31)]
        guessed = HeardFiller(start=0.04, end=0.52, text="Um", reading=0.49)
        metrics = compute_metrics(words, 2.0, fillers=[guessed])
        assert not metrics.disfluencies
        [event] = metrics.to_review
        assert (event.type, event.text, event.evidence) == ("interjection", "Um", ("second_pass",))
        read = compute_metrics(words, 2.0, fillers=[replace(guessed, reading=WELL_READ)])
        assert [e.text for e in read.disfluencies] == ["Um"]

    def test_a_filler_over_a_drawn_out_lookalike_is_that_filler_not_a_prolongation(
        self,
    ) -> None:
        # "um the bus to the city" written "I'm a monster and I see the leaves": the "um",
        # 0.48-0.92 s, is voiced sound no word covers flowing on into "I'm", read as its
        # drawn-out onset; the second pass wrote "Um" over it.
        words = [
            word("I'm", 0.94, 1.34, 0.18),
            word("a", 1.34, 1.34, 0.51),
            word("monster", 1.34, 1.4, 0.38),
            *(word(w, 1.4 + 0.3 * i, 1.7 + 0.3 * i) for i, w in enumerate("and i see the".split())),
            word("leaves", 2.6, 2.9),
        ]
        sound = Sound(start=0.48, end=0.92, noisy=False, flows_on=True)
        alone = compute_metrics(words, 3.0, sounds=[sound])
        assert [(e.type, e.text) for e in alone.disfluencies] == [("prolongation", "I'm")]
        assert alone.stuttered_syllables == 1
        filler = HeardFiller(start=0.48, end=0.84, text="Um", reading=0.39, resumed=True)
        both = compute_metrics(words, 3.0, sounds=[sound], fillers=[filler])
        [event] = both.disfluencies
        assert (event.type, event.text, event.start, event.end) == (
            "interjection",
            "Um",
            0.48,
            1.34,
        )
        assert event.evidence == ("timing", "acoustic", "second_pass")
        assert not event.stuttering_like
        assert both.stuttered_syllables == 0
        # A drawn-out word whisper does not write for a filler stays a prolongation.
        mine = [replace(words[0], word="Mine"), *words[1:]]
        other = compute_metrics(mine, 3.0, sounds=[sound], fillers=[filler])
        assert [(e.type, e.text) for e in other.disfluencies] == [("prolongation", "Mine")]
