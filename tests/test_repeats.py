"""Repetitions heard in the audio (``pipelines.repeats``) and what the metrics make of them.

The detector is checked on recorded speech (JFK) with stretches said again spliced in, on
that speech as it is, and on sounds that match themselves at every lag (silence, a tone, noise).
How well it does on the labelled corpus is ``tests/test_disfluency_detection.py``'s business.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pipelines.audio import decode
from pipelines.metrics import FluencyMetrics, compute_metrics, count_events
from pipelines.repeats import CLOSE, Repeat, repeated_units
from pipelines.types import SAMPLE_RATE, AudioArray, Word
from tests.support import FIXTURES
from tests.test_metrics import events, timed


@pytest.fixture(scope="module")
def jfk() -> AudioArray:
    return decode(FIXTURES / "jfk.opus")


def said_again(audio: AudioArray, start_s: float, length_s: float, times: int = 2) -> AudioArray:
    """``audio`` with the ``length_s`` from ``start_s`` said ``times`` times in a row."""
    start, end = round(start_s * SAMPLE_RATE), round((start_s + length_s) * SAMPLE_RATE)
    return np.concatenate([audio[:start], *[audio[start:end]] * times, audio[end:]])


class TestRepeatedUnits:
    def test_fluent_recorded_speech_has_none(self, jfk: AudioArray) -> None:
        assert repeated_units(jfk) == []

    @pytest.mark.parametrize("quiet_first", [False, True])
    def test_fluent_speech_joined_to_itself_20_db_lower_has_none(self, quiet_first: bool) -> None:
        """Normalised by the loud take's mean, the quiet take's spectra all leaned one way and
        matched each other: "minutes" said again at the quiet take's end, in either order.
        Each part spoken at its own level is normalised by its own mean."""
        speech = decode(FIXTURES / "long" / "noise_20db.opus")[: 15 * SAMPLE_RATE]
        quiet = (0.1 * speech).astype(np.float32)
        assert repeated_units(quiet) == [] and repeated_units(speech) == []
        joined = np.concatenate([quiet, speech] if quiet_first else [speech, quiet])
        assert repeated_units(joined) == []

    @pytest.mark.parametrize(("start_s", "length_s"), [(1.8, 0.35), (6.0, 0.2), (9.3, 0.5)])
    def test_a_stretch_said_twice_is_found_where_it_is(
        self, jfk: AudioArray, start_s: float, length_s: float
    ) -> None:
        [repeat] = repeated_units(said_again(jfk, start_s, length_s))
        assert repeat.copies == 2
        assert repeat.start == pytest.approx(start_s, abs=0.1)
        assert repeat.unit_s == pytest.approx(length_s, abs=0.05)
        assert repeat.distance <= CLOSE

    def test_every_copy_is_counted(self, jfk: AudioArray) -> None:
        [repeat] = repeated_units(said_again(jfk, 6.4, 0.25, times=4))
        assert repeat.copies == 4
        assert repeat.end == pytest.approx(6.4 + 4 * 0.25, abs=0.15)

    @pytest.mark.parametrize("at_s", [29.9, 30.05])
    def test_a_repeat_on_a_block_edge_is_found_once(self, jfk: AudioArray, at_s: float) -> None:
        """Spectra are compared in 30 s blocks; a repeat on a block's edge is still one."""
        lead = np.zeros(round((at_s - 6.0) * SAMPLE_RATE), dtype=np.float32)
        audio = said_again(np.concatenate([lead, jfk, jfk]), at_s, 0.3)  # jfk's 6.0 s at at_s
        found = [r for r in repeated_units(audio) if r.end > at_s - 1 and r.start < at_s + 1]
        assert len(found) == 1, found
        assert found[0].start == pytest.approx(at_s, abs=0.1)
        assert found[0].copies == 2

    @pytest.mark.parametrize("lead_s", [19.5, 20.0, 20.5, 49.6])
    def test_speech_in_a_short_last_block_is_no_repetition(
        self, jfk: AudioArray, lead_s: float
    ) -> None:
        """A recording whose last 30 s block holds a sliver of speech (JFK's "country" after
        20 s of silence, its last 0.5 s past 30 s): that block's spectra were normalised over
        half a second of speech, which then matched itself (measured: "country" at 30.43 s
        said twice)."""
        lead = np.zeros(round(lead_s * SAMPLE_RATE), dtype=np.float32)
        assert repeated_units(np.concatenate([lead, jfk])) == []

    def test_repeats_are_in_time_order_and_do_not_overlap(self, jfk: AudioArray) -> None:
        audio = said_again(said_again(jfk, 9.3, 0.3), 1.8, 0.35)
        found = repeated_units(audio)
        assert len(found) == 2
        assert found[0].end <= found[1].start

    @pytest.mark.parametrize(("start_s", "length_s"), [(1.8, 0.35), (6.0, 0.2), (9.3, 0.5)])
    def test_copies_with_a_pause_between_are_found_over_a_noise_floor(
        self, jfk: AudioArray, start_s: float, length_s: float
    ) -> None:
        """A word said again after a short pause ("I, I want"), recorded over a room's noise
        (-50 dBFS, about 25 dB under the speech): the pauses hold different noise, which must
        not keep the copies from matching."""
        start, end = round(start_s * SAMPLE_RATE), round((start_s + length_s) * SAMPLE_RATE)
        unit = np.concatenate([jfk[start:end], np.zeros(round(0.12 * SAMPLE_RATE), np.float32)])
        audio = np.concatenate([jfk[:start], unit, unit, jfk[start:]])
        rng = np.random.default_rng(7)
        noisy = (audio + 0.003 * rng.standard_normal(len(audio))).astype(np.float32)
        [repeat] = repeated_units(noisy)
        assert repeat.start == pytest.approx(start_s, abs=0.1)
        assert repeat.distance <= CLOSE

    @pytest.mark.parametrize("sound", ["silence", "digital_silence", "tone", "noise", "hum"])
    def test_steady_sound_is_no_repetition(self, sound: str) -> None:
        t = np.arange(5 * SAMPLE_RATE) / SAMPLE_RATE
        rng = np.random.default_rng(0)
        audio = {
            "silence": 1e-4 * rng.standard_normal(len(t)),
            "digital_silence": np.zeros(len(t)),
            "tone": 0.3 * np.sin(2 * np.pi * 220 * t),
            "noise": 0.1 * rng.standard_normal(len(t)),
            "hum": 0.2 * np.sin(2 * np.pi * 120 * t) + 0.1 * np.sin(2 * np.pi * 240 * t),
        }[sound].astype(np.float32)
        assert repeated_units(audio) == []

    def test_short_audio(self) -> None:
        assert repeated_units(np.zeros(100, dtype=np.float32)) == []
        assert repeated_units(np.zeros(0, dtype=np.float32)) == []

    def test_other_sample_rates_are_refused(self, jfk: AudioArray) -> None:
        with pytest.raises(ValueError, match="16000"):
            repeated_units(jfk, sample_rate=8000)

    def test_round_trips_through_the_transcript_json(self) -> None:
        repeat = Repeat(start=1.23456, unit_s=0.2, copies=3, distance=0.01234, continues=True)
        assert Repeat(**repeat.to_dict()) == Repeat(
            start=1.235, unit_s=0.2, copies=3, distance=0.0123, continues=True
        )


WORDS = timed(
    ("I", 0.3, 0.75),  # whisper laid one "I" over the three said
    ("want", 0.8, 1.05),
    ("to", 1.1, 1.2),
    ("go", 1.25, 1.5),
    ("home", 1.55, 1.9),
    ("now", 1.95, 2.2),
)


def assert_counted(
    words: list[Word], metrics: FluencyMetrics, duration: float, syllables: int, stuttered: int
) -> None:
    """``metrics`` count these syllables and stuttered syllables, and so do the events' spans
    once a clinician confirms them (``count_events``)."""
    assert (metrics.syllable_count, metrics.stuttered_syllables) == (syllables, stuttered)
    confirmed = count_events(words, metrics.disfluencies, duration)
    assert (confirmed.syllable_count, confirmed.stuttered_syllables) == (syllables, stuttered)


class TestHeardRepetitions:
    def test_a_word_said_again_that_whisper_wrote_once(self) -> None:
        repeat = Repeat(start=0.3, unit_s=0.15, copies=3, distance=0.01, continues=False)
        metrics = compute_metrics(WORDS, 3.0, repeats=[repeat])
        assert events(metrics) == [("repetition", "whole_word", "I I I", True)]
        [event] = metrics.disfluencies
        assert event.evidence == ("acoustic",)
        assert (event.start, event.end) == pytest.approx((0.3, 0.75))
        # Counted once among the syllables, and stuttered.
        assert metrics.syllable_count == 6
        assert metrics.stuttered_syllables == 1

    def test_a_first_sound_said_again_is_a_part_word_repetition_of_the_next_word(self) -> None:
        words = timed(("the", 0.0, 0.2), ("brother", 0.7, 1.1), ("came", 1.15, 1.4))
        repeat = Repeat(start=0.25, unit_s=0.2, copies=2, distance=0.01, continues=True)
        metrics = compute_metrics(words, 2.0, repeats=[repeat])
        assert events(metrics) == [("repetition", "part_word", "b- b- brother", True)]

    def test_fillers_written_for_the_copies_of_a_syllable_are_that_repetition(self) -> None:
        # "um muh muh muh Monday is" written "um, mmm, mmm, mmm, Monday is": the copies heard
        # in the audio are one part-word repetition, and whisper's hums over them are its
        # syllables written, not three interjections; the "um" before them was said besides.
        words = timed(
            ("um,", 0.0, 0.2),
            ("mmm,", 0.3, 0.45),
            ("mmm,", 0.5, 0.65),
            ("mmm,", 0.7, 0.85),
            ("Monday", 0.9, 1.3),
            ("is", 1.35, 1.5),
        )
        repeat = Repeat(start=0.3, unit_s=0.2, copies=3, distance=0.01, continues=True)
        metrics = compute_metrics(words, 2.0, repeats=[repeat])
        assert events(metrics) == [
            ("interjection", None, "um,", False),
            ("repetition", "part_word", "m- m- m- Monday", True),
        ]
        # Without the copies heard, whisper's hums are all there is to go on: interjections,
        # the hums written back to back one filled pause beside the "um".
        alone = compute_metrics(words, 2.0)
        assert events(alone) == [
            ("interjection", None, "um,", False),
            ("interjection", None, "mmm, mmm, mmm,", False),
        ]

    def test_a_syllable_whisper_wrote_as_a_word_it_guessed_starts_the_next_word(self) -> None:
        # "the puh puh people" written "the pop people": the first sounds of the copies and of
        # the word after them differ in their vowel, so they do not match (continues=False),
        # but whisper's word over the copies is a guess at a sound, not a word it heard.
        words = [
            Word(" the", 0.0, 0.2, 0.9),
            Word(" pop", 0.25, 0.6, 0.08),
            Word(" people", 0.7, 1.1, 0.9),
        ]
        repeat = Repeat(start=0.25, unit_s=0.2, copies=2, distance=0.01, continues=False)
        metrics = compute_metrics(words, 2.0, repeats=[repeat])
        assert events(metrics) == [("repetition", "part_word", "p- p- people", True)]
        # The same copies under a word whisper heard are that word said again.
        sure = [words[0], replace(words[1], probability=0.6), words[2]]
        [event] = compute_metrics(sure, 2.0, repeats=[repeat]).disfluencies
        assert (event.subtype, event.text) == ("whole_word", "pop pop")
        # Whisper's split guess ("pop -up email"): the word after the copies is "-up".
        split = [words[0], Word(" pop", 0.25, 0.5, 0.08), Word(" -up", 0.5, 0.7, 0.5), words[2]]
        [event] = compute_metrics(split, 2.0, repeats=[repeat]).disfluencies
        assert (event.subtype, event.text) == ("part_word", "u- u- up")
        # A comma whisper wrote as a word of its own folds into the guess, which stays one.
        comma = [*words[:2], Word(",", 0.6, 0.6, 0.9), words[2]]
        [event] = compute_metrics(comma, 2.0, repeats=[repeat]).disfluencies
        assert event.subtype == "part_word"

    def test_copies_whisper_wrote_as_a_guess_are_no_syllable_of_the_word_they_start(self) -> None:
        # "my kuh kuh car needs new tyres" written "My cooker car": "cooker" (0.06) is the
        # copies written as a word; the repetition is of "car", and "cooker" adds no syllable.
        words = [Word(" My", 0.3, 0.6, 0.52), Word(" cooker", 0.6, 0.9, 0.06)]
        words += timed(
            *(
                (w, 0.9 + i * 0.3, 1.18 + i * 0.3)
                for i, w in enumerate("car needs new tyres".split())
            )
        )
        repeat = Repeat(start=0.51, unit_s=0.18, copies=2, distance=0.02, continues=True)
        metrics = compute_metrics(words, 3.0, repeats=[repeat])
        assert events(metrics) == [("repetition", "part_word", "c- c- car", True)]
        assert_counted(words, metrics, 3.0, 5, 1)  # my car needs new tyres

    def test_a_unit_like_the_next_sound_over_a_word_whisper_heard_is_that_word(self) -> None:
        # "it it it takes": the copies sound like the start of "it" that follows, but whisper
        # heard a word over them, and was sure of it.
        words = [Word(" it", 0.3, 0.62, 0.9), Word(" takes", 0.7, 1.0, 0.95)]
        repeat = Repeat(start=0.3, unit_s=0.12, copies=3, distance=0.01, continues=True)
        metrics = compute_metrics(words, 2.0, repeats=[repeat])
        assert events(metrics) == [("repetition", "whole_word", "it it it", True)]

    def test_a_short_word_written_over_copies_like_its_start_is_said_again_whole(self) -> None:
        # "it it it takes" written "Did it take": the copies sound like the start of "it",
        # whisper doubted "Did" (0.46), but it wrote "it" over them and after them, a short
        # word speakers repeat whole: the word said again, not its first sound.
        words = [Word(" Did", 0.3, 0.38, 0.46), Word(" it", 0.38, 0.6, 0.98)]
        words += timed(("take", 0.62, 0.9), ("about", 0.92, 1.2), ("an", 1.22, 1.3))
        words += timed(("hour", 1.32, 1.6))
        repeat = Repeat(start=0.32, unit_s=0.11, copies=2, distance=0.01, continues=True)
        assert events(compute_metrics(words, 2.0, repeats=[repeat])) == [
            ("repetition", "whole_word", "it it", True)
        ]
        # A longer word whisper wrote there ("luh luh lettuce" written "let") is the word the
        # copies start.
        let = [words[0], replace(words[1], word=" let", probability=0.34), *words[2:]]
        assert events(compute_metrics(let, 2.0, repeats=[repeat])) == [
            ("repetition", "part_word", "l- l- let", True)
        ]

    def test_the_word_said_again_is_the_sure_one_over_the_end_of_the_copies(self) -> None:
        # "go to the the store" written "go to the store": whisper's times lay "to" over the
        # first copy and "the" over the last. The word said again is "the", and "to", a word
        # whisper was sure of, keeps its syllable.
        words = [
            Word(" go", 1.26, 1.48, 0.99),
            Word(" to", 1.48, 1.66, 0.68),
            Word(" the", 1.66, 1.78, 0.93),
            Word(" store.", 1.78, 2.3, 0.9),
        ]
        repeat = Repeat(start=1.51, unit_s=0.11, copies=2, distance=0.01, continues=False)
        metrics = compute_metrics(words, 3.0, repeats=[repeat])
        assert events(metrics) == [("repetition", "whole_word", "the the", True)]
        assert_counted(words, metrics, 3.0, 4, 1)  # go to the store

    def test_a_word_written_from_inside_the_copies_to_well_past_them_is_the_word_they_start(
        self,
    ) -> None:
        # "likes to puh puh play football" written "likes to play football": whisper's sure
        # "to" lies over the first copy, its "play" from the second to 0.15 s past the last.
        words = [
            Word(" likes", 1.86, 2.16, 0.9),
            Word(" to", 2.16, 2.36, 0.99),
            Word(" play", 2.36, 2.68, 0.31),
            Word(" football.", 2.68, 3.24, 1.0),
        ]
        repeat = Repeat(start=2.25, unit_s=0.14, copies=2, distance=0.01, continues=False)
        metrics = compute_metrics(words, 4.0, repeats=[repeat])
        assert events(metrics) == [("repetition", "part_word", "p- p- play", True)]
        # A word ending with the copies was said again whole ("our our" written "I'll run",
        # "run" 0.11 s past them)...
        ends = [*words[:2], replace(words[2], end=2.64), words[3]]
        assert events(compute_metrics(ends, 4.0, repeats=[repeat]))[0][1] == "whole_word"
        # ...and so was a short word written over the copies and past them ("to the the store").
        the = [*words[:2], replace(words[2], word=" the"), words[3]]
        assert events(compute_metrics(the, 4.0, repeats=[repeat]))[0][1] == "whole_word"

    def test_a_syllable_whisper_wrote_twice_as_one_word_starts_the_next_word(self) -> None:
        # "my buh buh brother likes tea" written "My mama brother likes tea": the copies do not
        # sound like "brother"'s start (continues=False) and whisper half believed its "mama"
        # (0.50), but a syllable written twice as one word is the copies written, so this is a
        # part-word repetition of the word after it, and "mama" adds no syllable.
        words = [Word(" My", 0.42, 0.6, 0.81), Word(" mama", 0.6, 0.88, 0.5)]
        words += timed(("brother", 0.88, 1.14), ("likes", 1.16, 1.4), ("tea", 1.45, 1.7))
        copies = Repeat(start=0.53, unit_s=0.13, copies=2, distance=0.02, continues=False)
        metrics = compute_metrics(words, 2.0, repeats=[copies])
        assert events(metrics) == [("repetition", "part_word", "b- b- brother", True)]
        assert_counted(words, metrics, 2.0, 5, 1)  # my brother likes tea
        # Another word whisper was sure of over the copies is one it heard, said again.
        heard = [words[0], replace(words[1], word=" mother", probability=0.7), *words[2:]]
        [event] = compute_metrics(heard, 2.0, repeats=[copies]).disfluencies
        assert (event.subtype, event.text) == ("whole_word", "mother mother")

    def test_a_short_word_after_a_guess_over_the_copies_is_not_the_word_said_again(
        self,
    ) -> None:
        # "My buh buh brother is coming" written "My mum and runner is coming": "mum" (0.15) is
        # the copies written, and "and" (0.20) after it, a doubted short word, is not said
        # again over them ("they they they" written "They" is, with no guess before it): a
        # part-word repetition of the word after the copies.
        words = [Word(" My", 0.48, 0.64, 0.97), Word(" mum", 0.64, 0.9, 0.15)]
        words += [Word(" and", 0.9, 1.2, 0.2), Word(" runner", 1.2, 1.32, 0.41)]
        words += timed(("is", 1.32, 1.58), ("coming", 1.58, 1.94), ("to", 1.94, 2.16))
        words += timed(("visit", 2.16, 2.46), ("us", 2.46, 2.7))
        copies = Repeat(start=0.54, unit_s=0.21, copies=2, distance=0.03, continues=False)
        [event] = compute_metrics(words, 3.0, repeats=[copies]).disfluencies
        assert (event.type, event.subtype) == ("repetition", "part_word")
        # Whisper sure of that short word heard it (below: "violin in", "island" over the
        # copies, "in" 0.97): no part-word repetition of it.

    def test_copies_a_syllable_long_under_a_doubted_longer_word_are_to_review(self) -> None:
        # "She plays the violin in the orchestra" written "the island in": "lin in" heard
        # twice, 0.12 s a copy, under "island" (0.06): two syllables do not fit in a copy.
        words = timed(("She", 0.54, 0.8), ("plays", 0.8, 1.14), ("the", 1.14, 1.38))
        words += [Word(" island", 1.38, 1.68, 0.06)]
        words += timed(("in", 1.68, 1.98), ("the", 1.98, 2.2), ("orchestra", 2.2, 2.56))
        copies = Repeat(start=1.51, unit_s=0.12, copies=2, distance=0.02, continues=False)
        metrics = compute_metrics(words, 3.0, repeats=[copies])
        assert events(metrics) == []
        assert [(e.subtype, e.text) for e in metrics.to_review] == [("whole_word", "island island")]
        # Whisper sure of the longer word heard it said again (above).
        sure = [*words[:3], replace(words[3], probability=0.9), *words[4:]]
        assert events(compute_metrics(sure, 3.0, repeats=[copies])) == [
            ("repetition", "whole_word", "island island", False)
        ]

    def test_a_doubted_word_starting_with_a_syllable_twice_is_the_copies_written(self) -> None:
        # "the tuh tuh table is made of oak" written "The total table": "total" (0.55) starts
        # with "to" twice, the copies whisper half placed; the repetition is of "table".
        said = ("table", 0.72, 0.98), ("is", 1.0, 1.26), ("made", 1.28, 1.54)
        words = [Word(" The", 0.3, 0.36, 0.33), Word(" total", 0.36, 0.72, 0.55), *timed(*said)]
        words += timed(("of", 1.56, 1.82), ("oak", 1.84, 2.1))
        copies = Repeat(start=0.36, unit_s=0.18, copies=2, distance=0.02, continues=False)
        found = compute_metrics(words, 3.0, repeats=[copies])
        assert events(found) == [("repetition", "part_word", "t- t- table", True)]
        assert_counted(words, found, 3.0, 7, 1)  # the table is made of oak
        # Whisper sure of such a word ("nine", "moment") heard it: the word said again.
        sure = [words[0], replace(words[1], probability=0.9), *words[2:]]
        [event] = compute_metrics(sure, 3.0, repeats=[copies]).disfluencies
        assert (event.subtype, event.text) == ("whole_word", "total total")

    def test_a_unit_spanning_words_is_a_phrase(self) -> None:
        words = timed(("so", 0.0, 0.2), ("we", 0.25, 0.4), ("walked", 0.95, 1.3), ("on", 1.35, 1.5))
        repeat = Repeat(start=0.0, unit_s=0.45, copies=2, distance=0.01, continues=False)
        metrics = compute_metrics(words, 2.0, repeats=[repeat])
        assert events(metrics) == [("repetition", "phrase", "so we so we", False)]

    def test_two_words_written_in_one_short_copy_are_a_phrase(self) -> None:
        # "so we so we walked" written "so we walked", both words inside the repeat: the unit
        # is short enough for a syllable at this pace, but it holds two words.
        words = timed(
            *((w, i * 0.25, i * 0.25 + 0.2) for i, w in enumerate("the bus was crowded".split())),
            ("so", 1.52, 1.58),
            ("we", 1.58, 1.94),
            *((w, 1.94 + i * 0.25, 2.14 + i * 0.25) for i, w in enumerate("walked the".split())),
        )
        repeat = Repeat(start=1.3, unit_s=0.31, copies=2, distance=0.01, continues=False)
        metrics = compute_metrics(words, 3.0, repeats=[repeat])
        assert events(metrics) == [("repetition", "phrase", "so we so we", False)]
        # A syllable-long unit with two of whisper's squeezed words in it is still a word.
        short = Repeat(start=1.4, unit_s=0.12, copies=2, distance=0.01, continues=False)
        squeezed = [*words[:4], *timed(("the", 1.5, 1.54), ("end", 1.54, 1.62), ("now", 1.9, 2.1))]
        assert events(compute_metrics(squeezed, 3.0, repeats=[short]))[0][1] == "whole_word"

    def test_a_loose_match_is_listed_to_review(self) -> None:
        repeat = Repeat(start=0.3, unit_s=0.15, copies=3, distance=CLOSE + 0.01, continues=False)
        metrics = compute_metrics(WORDS, 3.0, repeats=[repeat])
        assert metrics.disfluencies == ()
        assert [e.text for e in metrics.to_review] == ["I I I"]
        assert metrics.stuttered_syllables == 0

    def test_a_loose_match_where_whisper_doubted_its_words_counts(self) -> None:
        # "you you should" written "You should" at 0.54 each: the audio's copies match only
        # loosely, but whisper doubted every word it wrote over them too.
        words = [Word(" You", 0.3, 0.58, 0.54), Word(" should", 0.58, 0.86, 0.54)]
        words += timed(
            *((w, 0.9 + i * 0.25, 1.12 + i * 0.25) for i, w in enumerate("try it".split()))
        )
        repeat = Repeat(start=0.3, unit_s=0.1, copies=2, distance=CLOSE + 0.01, continues=False)
        metrics = compute_metrics(words, 2.0, repeats=[repeat])
        assert events(metrics) == [("repetition", "whole_word", "You You", True)]
        assert metrics.disfluencies[0].confidence < 0.65  # less sure than a close match
        # One word under the copies that whisper was sure of, and it is to review again.
        sure = [replace(words[0], probability=0.6), *words[1:]]
        assert compute_metrics(sure, 2.0, repeats=[repeat]).disfluencies == ()

    def test_a_loose_match_inside_a_drawn_out_word_is_that_sound(self) -> None:
        # "I found mmmmy glasses" written "my" over the whole hum, which matched itself loosely.
        words = timed(
            *((w, i * 0.25, i * 0.25 + 0.22) for i, w in enumerate("I finally found".split())),
            ("my", 0.75, 1.65),
            *((w, 1.7 + i * 0.25, 1.92 + i * 0.25) for i, w in enumerate("glasses on it".split())),
        )
        repeat = Repeat(start=0.9, unit_s=0.12, copies=2, distance=CLOSE + 0.01, continues=False)
        metrics = compute_metrics(words, 3.0, repeats=[repeat])
        assert [(e.type, e.text) for e in metrics.disfluencies] == [("prolongation", "my")]
        assert metrics.to_review == ()
        # A close match there is a repetition, and the word is not prolonged as well.
        close = replace(repeat, distance=CLOSE)
        metrics = compute_metrics(words, 3.0, repeats=[close])
        assert events(metrics) == [("repetition", "whole_word", "my my", True)]
        # The event holds the word whisper stretched past the copies, so confirming it keeps
        # the word stuttered.
        assert count_events(words, metrics.disfluencies, 3.0).stuttered_syllables == 1

    def test_a_repetition_the_words_show_is_not_counted_twice(self) -> None:
        words = timed(("my", 0.3, 0.45), ("my", 0.5, 0.65), ("name", 0.7, 1.0))
        repeat = Repeat(start=0.3, unit_s=0.2, copies=2, distance=0.01, continues=False)
        metrics = compute_metrics(words, 2.0, repeats=[repeat])
        assert events(metrics) == [("repetition", "whole_word", "my my", True)]

    def test_a_longer_word_written_for_each_copy_of_a_syllable_is_a_part_word_repetition(
        self,
    ) -> None:
        # "her muh muh mother works" written "moment, moment, mother works": whisper wrote a
        # two-syllable word for each copy heard, but each copy lasts 0.15 s, one syllable.
        words = timed(
            ("her", 0.0, 0.2),
            ("moment,", 0.25, 0.4),
            ("moment,", 0.4, 0.55),
            ("mother", 0.6, 0.95),
            ("works", 1.0, 1.3),
        )
        repeat = Repeat(start=0.25, unit_s=0.15, copies=2, distance=0.01, continues=False)
        metrics = compute_metrics(words, 2.0, repeats=[repeat])
        assert events(metrics) == [("repetition", "part_word", "moment, moment, mother", True)]
        # The copies are no syllables of their own; "mother" is the stuttered one.
        assert (metrics.syllable_count, metrics.stuttered_syllables) == (4, 1)
        # Heard as units long enough for the word, it is the word said again.
        whole = replace(repeat, unit_s=0.4)
        [event] = compute_metrics(words, 2.0, repeats=[whole]).disfluencies
        assert (event.subtype, event.stuttering_like) == ("whole_word", False)
        # Without a repeat heard there, the words alone say nothing more.
        [event] = compute_metrics(words, 2.0).disfluencies
        assert event.subtype == "whole_word"
