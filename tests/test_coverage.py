"""Coverage: voiced audio without words is transcribed again; nothing voiced is ever removed.

Pure functions on crafted spans and words, then the whole pipeline with a scripted chunk
transcriber that loses a sentence or closes with a made-up one in silence.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.vad import VadOptions, get_speech_timestamps

from pipelines.audio import decode, decode_to_file
from pipelines.coverage import (
    COPY_NEAR_S,
    COPY_WORDS,
    DOUBTED_S,
    ECHO_GAP_S,
    ECHO_PROBABILITY,
    LOOP_WORDS,
    MIN_UNCOVERED_S,
    REPAIR_MAX_S,
    SPEECH_VAD,
    TIMED_WORDS,
    Coverage,
    Sound,
    Speech,
    coverage_counts,
    hidden_pauses,
    lone_sounds,
    looped_speech,
    repair_windows,
    silero_speech,
    splice,
    uncovered_speech,
    underwritten_speech,
    with_doubted_speech,
    without_echoes,
    without_loops,
    without_made_up_ending,
    without_misplaced_copies,
    without_unvoiced_segments,
)
from pipelines.fillers import FILLER_LOOP
from pipelines.transcription import TranscribeChunk, transcribe_chunked
from pipelines.types import (
    SAMPLE_RATE,
    AudioArray,
    ChunkTranscript,
    InMemoryAudio,
    Segment,
    TranscriptionOptions,
)
from pipelines.types import Word as W
from pipelines.vad import WINDOW, speech_probabilities, speech_timestamps
from tests.support import FIXTURES

ONE_CHUNK = {"target_s": 115.0, "max_s": 120.0, "overlap_s": 1.0}


def segment(*words: W) -> Segment:
    return Segment(words[0].start, words[-1].end, " ".join(w.word for w in words), words)


class TestUncoveredSpeech:
    def test_speech_under_words_is_covered(self) -> None:
        words = [W("a", 0.0, 0.4), W("b", 0.5, 0.9), W("c", 1.0, 1.6)]
        assert uncovered_speech([(0.0, 1.6)], words) == []

    def test_a_lost_sentence_is_found(self) -> None:
        words = [W("a", 0.0, 0.4), W("z", 6.0, 6.4)]
        assert uncovered_speech([(0.0, 6.4)], words) == [pytest.approx((0.7, 5.7))]

    def test_short_gaps_and_silence_are_left_alone(self) -> None:
        words = [W("a", 0.0, 0.4), W("b", 1.5, 1.9)]
        assert uncovered_speech([(0.0, 1.9), (3.0, 3.0 + MIN_UNCOVERED_S / 2)], words) == []

    def test_a_word_stretched_over_lost_speech_covers_only_a_word(self) -> None:
        # Whisper gives the word before a lost sentence all of its time.
        words = [W("so", 0.0, 8.0)]
        assert uncovered_speech([(0.0, 8.0)], words) == [pytest.approx((0.8, 8.0))]

    def test_a_word_covers_what_its_syllables_take(self) -> None:
        # At the end of a recording "pencils" got 2.0 s, and "Helen bring to the concert"
        # went under it: two syllables cover 0.7 s (and the usual slack), not 1.5 s.
        words = [W("many", 135.7, 136.2), W("pencils", 136.2, 138.3), W("did", 138.8, 138.8)]
        assert uncovered_speech([(135.7, 138.5)], words) == [pytest.approx((137.2, 138.5))]
        # A long word may take its time, up to 1.5 s.
        long = [W("extraordinary", 0.0, 1.6), W("so", 1.6, 1.8)]
        assert uncovered_speech([(0.0, 1.8)], long) == []

    def test_no_words_at_all_leaves_every_span_uncovered(self) -> None:
        assert uncovered_speech([(1.0, 3.0), (4.0, 9.0)], []) == [(1.0, 3.0), (4.0, 9.0)]


def paced(count: int, start: float = 0.0) -> list[W]:
    """``count`` sure one-syllable words, 0.2 s each, 0.05 s apart: the speaker's pace."""
    return [W(f"w{i}", start + 0.25 * i, start + 0.25 * i + 0.2, 0.95) for i in range(count)]


class TestUnderwrittenSpeech:
    """Drawn-out doubted words over speech whisper skipped ("I think Simon" over "Where should
    we keep the ladder until on Friday? I think Simon")."""

    def test_a_run_of_drawn_out_doubted_words_is_speech_to_decode_again(self) -> None:
        before = paced(TIMED_WORDS)  # to 4.95 s
        drawn = [W("I", 6.0, 6.64, 0.05), W("think", 6.64, 7.28, 0.54)]
        after = paced(4, start=7.4)
        speech = [(0.0, 4.95), (5.2, 8.4)]
        assert underwritten_speech(speech, before + drawn + after) == [pytest.approx((5.2, 7.28))]

    def test_sure_or_lone_drawn_out_words_are_left_alone(self) -> None:
        before = paced(TIMED_WORDS)
        speech = [(0.0, 4.95), (5.2, 8.4)]
        sure = [W("I", 6.0, 6.64, 0.9), W("think", 6.64, 7.28, 0.9)]
        assert underwritten_speech(speech, before + sure) == []
        # One drawn-out word is as often a prolonged sound ("sssso"), decoded the same again.
        lone = [W("so", 5.2, 6.4, 0.3), *paced(4, start=6.5)]
        assert underwritten_speech(speech, before + lone) == []

    def test_without_enough_sure_words_the_pace_is_unknown(self) -> None:
        drawn = [W("I", 1.0, 1.64, 0.05), W("think", 1.64, 2.28, 0.3)]
        words = paced(TIMED_WORDS - 1, start=3.0) + drawn
        assert underwritten_speech([(0.0, 8.0)], sorted(words, key=lambda w: w.start)) == []


def said(text: str, start: float = 0.0, step: float = 0.25) -> list[W]:
    """The words of ``text``, one every ``step`` s from ``start``, each sure."""
    return [
        W(word, start + step * i, start + step * i + step * 0.8, 0.9)
        for i, word in enumerate(text.split())
    ]


FLUENT = (
    "Please put your coat on the hook by the door. The kettle is broken again, so we boil "
    "water in a pan. Family dinners are on Sunday at my aunt's house, and everyone brings "
    "something to share with the others."
)


class TestLoopedSpeech:
    """A decoder loop ("door door door …") written over speech instead of the words said."""

    def test_a_word_written_over_and_over_is_a_loop_from_the_word_before_to_the_one_after(
        self,
    ) -> None:
        before = said("please put your coat on the hook by the door. My")  # the last ends 2.7
        loop = said(" ".join(["door"] * 100), start=3.0, step=0.1)  # 3.0 to 12.98
        after = said("there's a family dinner on Sunday.", start=14.0)
        spans = looped_speech(before + loop + after)
        # From the end of "My" to the start of "there's": the loop's own words, not the
        # legitimate "door." before it.
        assert spans == [pytest.approx((2.7, 14.0))]
        kept, removed = without_loops([segment(*before), segment(*loop, *after)], spans)
        assert removed == 100
        assert [w.word for s in kept for w in s.words] == [w.word for w in before + after]

    def test_a_sentence_written_over_and_over_is_a_loop(self) -> None:
        loop = said(" ".join(["I'm sorry."] * 20), start=10.0)
        spans = looped_speech(said(FLUENT) + loop)
        assert len(spans) == 1 and spans[0][0] <= 10.0 and spans[0][1] >= loop[-1].end

    def test_fluent_text_and_a_speakers_repetitions_are_not_loops(self) -> None:
        assert looped_speech(said(FLUENT * 3)) == []
        stuttered = (
            "I I I I want to go to the the store and my mama mama mama mama likes to "
            "puh puh puh play football, so so so we we went there on on Sunday."
        )
        assert looped_speech(said(stuttered)) == []
        # Fewer words than a run: the whole text is read.
        assert looped_speech(said("my my my my my brother")) == []
        assert len(said(FLUENT)) > LOOP_WORDS

    def test_one_filler_written_again_and_again_is_a_loop(self) -> None:
        before = said("I finally found")  # "found" ends at 0.7
        loop = said(" ".join(["ahh..."] * 12), start=1.0, step=0.185)
        after = said("The blue one, the green one is cheaper.", start=3.5)
        assert looped_speech(before + loop + after) == [pytest.approx((0.7, 3.5))]

    def test_a_speakers_few_fillers_or_fillers_apart_are_not_a_loop(self) -> None:
        hesitant = said("so uh, uh, uh, I think um we should go")
        assert looped_speech(hesitant) == []
        assert looped_speech(said(" ".join(["uh"] * (FILLER_LOOP - 1)))) == []
        # Each "um" 0.6 s after the one before ends: pauses, not one loop.
        apart = said(" ".join(["um"] * FILLER_LOOP), step=3.0)
        assert looped_speech(apart) == []
        # As many different fillers in a row are hesitations, one each.
        assert looped_speech(said("um uh er erm ah hmm")) == []

    def test_nothing_to_take_out_without_loops(self) -> None:
        segments = [segment(*said(FLUENT))]
        assert without_loops(segments, []) == (segments, 0)


def heard(spans: list[tuple[float, float]], doubted: list[tuple[float, float, float]]) -> Speech:
    """Silero's ``spans``, with ``(start, end, probability)`` scores over 10 s, 0.01 elsewhere."""
    probabilities = np.full(10 * SAMPLE_RATE // WINDOW, 0.01, dtype=np.float32)
    for start, end, probability in [*((a, b, 0.9) for a, b in spans), *doubted]:
        probabilities[int(start * SAMPLE_RATE / WINDOW) : int(end * SAMPLE_RATE / WINDOW)] = (
            probability
        )
    return Speech(spans=spans, probabilities=probabilities)


class TestDoubtedSpeech:
    def test_a_long_voiced_sound_silero_doubted_is_speech_to_check(self) -> None:
        speech = heard([(0.0, 2.0), (6.0, 9.0)], [(3.0, 3.5, 0.4)])  # "ask not" scored 0.4
        lost = Sound(2.3, 5.7, noisy=False)
        assert with_doubted_speech(speech, [lost]) == [(0.0, 2.0), (2.3, 5.7), (6.0, 9.0)]
        speech = heard([(0.0, 2.0), (6.0, 9.0)], [(2.2, 2.6, 0.3)])
        touching = Sound(1.5, 3.0, noisy=False)
        assert with_doubted_speech(speech, [touching]) == [(0.0, 3.0), (6.0, 9.0)]

    def test_sounds_silero_rejected_breaths_fillers_and_drawn_out_onsets_are_not(self) -> None:
        speech = heard([(0.0, 2.0)], [(3.0, 4.5, 0.4), (5.0, 5.4, 0.4), (7.0, 8.2, 0.4)])
        sounds = [
            Sound(3.0, 4.5, noisy=True),  # a breath or a fricative
            Sound(5.0, 5.0 + MIN_UNCOVERED_S / 2, noisy=False),  # a filler: evidence only
            Sound(7.0, 8.2, noisy=False, flows_on=True),  # "mmmm|aybe": a prolongation
        ]
        assert with_doubted_speech(speech, sounds) == [(0.0, 2.0)]
        # Music: voiced, long, and scored above the bar for a window or two at most.
        music = heard([(0.0, 2.0)], [(3.0, 3.0 + DOUBTED_S / 2, 0.4)])
        assert with_doubted_speech(music, [Sound(2.5, 9.5, noisy=False)]) == [(0.0, 2.0)]


LONE_SPEECH = heard([(0.0, 2.0), (3.2, 3.8), (5.0, 9.0)], [])
LONE_WORDS = (W("so", 0.2, 0.6), W("we", 0.7, 1.9), W("walked", 5.1, 5.6))


class TestLoneSounds:
    def test_a_phrase_between_two_pauses_that_whisper_skipped_is_decoded_again(self) -> None:
        # "The kids were" said alone, then a block: 0.6 s with no word, 1.3 s from each word.
        lone = Sound(3.2, 3.8, noisy=False)
        assert lone_sounds(LONE_SPEECH, [lone], LONE_WORDS) == [(3.2, 3.8)]
        assert lone_sounds(LONE_SPEECH, [lone], []) == [(3.2, 3.8)]  # nothing written at all

    def test_a_sound_against_a_word_is_evidence_not_lost_speech(self) -> None:
        speech = heard([(0.0, 2.0), (4.0, 9.0)], [])
        sounds = [
            Sound(4.4, 4.8, noisy=False),  # "um" just before "walked"
            Sound(2.0, 2.4, noisy=False),  # "uh" just after "we"
        ]
        words = [W("so", 0.2, 0.6), W("we", 0.7, 1.9), W("walked", 4.9, 5.6)]
        assert lone_sounds(speech, sounds, words) == []

    def test_a_breath_a_drawn_out_onset_or_a_sound_silero_rejected_is_not(self) -> None:
        sounds = [
            Sound(3.2, 3.8, noisy=True),  # a breath between two pauses
            Sound(3.2, 3.8, noisy=False, flows_on=True),
        ]
        assert lone_sounds(LONE_SPEECH, sounds, LONE_WORDS) == []
        quiet = heard([(0.0, 2.0), (5.0, 9.0)], [(3.2, 3.2 + DOUBTED_S / 2, 0.4)])
        assert lone_sounds(quiet, [Sound(3.2, 3.8, noisy=False)], LONE_WORDS) == []


class TestHiddenPauses:
    def test_a_silence_under_a_word_is_a_pause_its_times_hide(self) -> None:
        voiced = np.ones(150, dtype=bool)  # FRAME_S (20 ms) a frame
        voiced[52:60] = False  # 1.04-1.2 s, under "the"
        voiced[100:103] = False  # 0.06 s under "leave": a stop's closure, no pause
        voiced[125:135] = False  # 0.2 s between "leave" and "it": whisper's times show it
        words = [W(" on", 0.84, 1.0), W(" the", 1.0, 1.32), W(" leave", 1.32, 2.5)]
        words.append(W(" it", 2.7, 2.9))
        assert hidden_pauses(voiced, words) == [pytest.approx((1.04, 1.2))]


class TestRepairWindows:
    def test_padded_and_clipped_to_the_audio(self) -> None:
        assert repair_windows([(0.2, 3.0), (10.0, 12.0)], 12.2) == [
            pytest.approx((0.0, 3.5)),
            pytest.approx((9.5, 12.2)),
        ]

    def test_close_gaps_share_one_window(self) -> None:
        assert repair_windows([(1.0, 3.0), (4.0, 6.0)], 100.0) == [pytest.approx((0.5, 6.5))]

    def test_a_long_gap_is_cut_into_windows_whisper_decodes_in_one_pass(self) -> None:
        windows = repair_windows([(0.0, 100.0)], 100.0)
        assert len(windows) == 4
        assert all(end - start <= REPAIR_MAX_S for start, end in windows)
        assert windows[0][0] == 0.0 and windows[-1][1] == pytest.approx(100.0)


class TestSplice:
    def test_new_words_land_between_the_old_ones_in_time_order(self) -> None:
        held = [segment(W("one", 0.0, 0.4), W("five", 4.0, 4.4))]
        found = [segment(W("one", 0.05, 0.4), W("two", 1.0, 1.4), W("three", 2.0, 2.4))]
        segments, added = splice(held, (0.3, 4.0), found, [(0.8, 3.5)], [(0.8, 3.5)])
        assert added == 2
        assert [w.word for s in segments for w in s.words] == ["one", "two", "three", "five"]
        assert [s.text for s in segments] == ["one", "two three", "five"]

    def test_words_outside_the_gaps_are_not_added_twice(self) -> None:
        held = [segment(W("my", 0.0, 0.3), W("my", 0.4, 0.7))]
        found = [segment(W("my", 0.0, 0.3), W("my", 0.42, 0.7))]
        assert splice(held, (0.0, 4.5), found, [(2.0, 4.0)], [(0.0, 4.0)]) == (held, 0)

    def test_a_retry_that_writes_the_skipped_sentence_replaces_drawn_out_words(self) -> None:
        held = [
            segment(W("working.", 4.0, 4.5)),
            segment(W("I", 6.0, 6.64, 0.05), W("think", 6.64, 7.28, 0.54)),
        ]
        said = "where should we keep the ladder until on friday? I think".split()
        found = [segment(*(W(w, 5.2 + 0.2 * i, 5.38 + 0.2 * i) for i, w in enumerate(said)))]
        underwritten = [(5.2, 7.28)]
        segments, added = splice(held, (4.7, 7.8), found, [], [(5.2, 7.8)], underwritten)
        assert [w.word for s in segments for w in s.words] == ["working.", *said]
        assert added == len(said) - 2
        # The same two words written again change nothing.
        again = [segment(W("I", 6.0, 6.6), W("think", 6.7, 7.2))]
        assert splice(held, (4.7, 7.8), again, [], [(5.2, 7.8)], underwritten) == (held, 0)

    def test_a_retry_that_hears_more_replaces_a_decoder_loop(self) -> None:
        # Whisper looped "let's go" over ten seconds of other speech.
        loop = [W(w, 10.0 + i * 0.4, 10.3 + i * 0.4) for i, w in enumerate(["let's", "go"] * 3)]
        held = [segment(W("before", 9.0, 9.5)), segment(*loop), segment(W("after", 21.0, 21.4))]
        said = [W(f"w{i}", 10.0 + i * 0.5, 10.4 + i * 0.5) for i in range(20)]
        segments, gained = splice(
            held, (9.5, 20.8), [segment(*said)], [(12.7, 20.0)], [(9.0, 21.4)]
        )
        words = [w.word for s in segments for w in s.words]
        assert words == ["before", *[w.word for w in said], "after"]
        assert gained == 20 - 6

    def test_a_retrys_decoder_loop_replaces_nothing_and_may_fill_a_gap(self) -> None:
        # The first pass held a sentence over 1-4 s and nothing over the speech at 5-7 s; the
        # retry wrote one filler over and over across the whole window.
        held = [segment(*said("I finally found my glasses under the sofa cushion.", 1.0, 0.3))]
        loop = [W("ahh...", 0.6 + 0.2 * i, 0.75 + 0.2 * i) for i in range(35)]
        segments, gained = splice(held, (0.5, 7.5), [segment(*loop)], [(5.0, 7.0)], [(1.0, 7.0)])
        words = [w for s in segments for w in s.words]
        assert [w.word for w in words[:9]] == [w.word for w in held[0].words]
        assert gained == len(words) - 9 and all(4.5 < w.start for w in words[9:])
        assert {w.word for w in words[9:]} == {"ahh..."}


class TestMisplacedCopies:
    """A sentence the first pass laid over the wrong audio, found by a repair where it was said."""

    SENTENCE = "The pilot felt confused the day before, so we decided to leave.".split()

    def said_at(self, start: float, words: list[str]) -> list[W]:
        return [W(w, start + i * 0.3, start + i * 0.3 + 0.25) for i, w in enumerate(words)]

    def test_the_first_pass_copy_of_a_repaired_sentence_goes(self) -> None:
        window = (10.0, 20.0)
        found = [segment(*self.said_at(12.0, ["Then", *self.SENTENCE]))]
        before = segment(*self.said_at(5.0, "It was late.".split()))
        copy = self.said_at(21.0, self.SENTENCE)
        after = self.said_at(25.0, "Excuse me.".split())
        kept, copies = without_misplaced_copies([before, segment(*copy, *after)], window, found)
        assert [w.word for s in kept for w in s.words] == ["It", "was", "late.", "Excuse", "me."]
        assert copies == [(copy[0].start, copy[-1].end)]

    def test_a_phrase_said_again_inside_another_sentence_stays(self) -> None:
        window = (10.0, 20.0)
        found = [segment(*self.said_at(12.0, self.SENTENCE))]
        # The same eight words, but not a sentence of their own.
        phrase = self.said_at(21.0, ["Still,", *self.SENTENCE[3:11], "again."])
        held = [segment(*phrase)]
        assert without_misplaced_copies(held, window, found) == (held, [])

    def test_short_far_or_inside_the_window_is_not_a_copy(self) -> None:
        window = (10.0, 20.0)
        short = ["We", "left", "at", "six."]
        assert len(short) < COPY_WORDS
        found = [segment(*self.said_at(12.0, [*short, *self.SENTENCE]))]
        for held in (
            [segment(*self.said_at(21.0, short))],
            [segment(*self.said_at(20.0 + COPY_NEAR_S + 1.0, self.SENTENCE))],
            [segment(*self.said_at(14.0, self.SENTENCE))],  # the retry replaces these itself
        ):
            assert without_misplaced_copies(held, window, found) == (held, [])


class TestUnvoicedSegments:
    def test_only_segments_on_neither_vad_speech_nor_energy_go(self) -> None:
        voiced = np.zeros(500, dtype=bool)  # 10 s of 20 ms frames
        voiced[100:150] = True  # 2.0-3.0 s: loud, though VAD did not call it speech
        speechy = segment(W("hello", 0.5, 0.9))
        loud = segment(W("hmm", 2.2, 2.6))
        made_up = segment(W("Thank", 8.0, 8.1), W("you.", 8.1, 8.2))
        kept, removed = without_unvoiced_segments([speechy, loud, made_up], [(0.4, 1.0)], voiced)
        assert kept == [speechy, loud] and removed == 1

    def test_a_prompt_run_on_into_the_silence_after_the_speech_goes(self) -> None:
        voiced = np.zeros(250, dtype=bool)
        voiced[15:188] = True  # speech from 0.3 s to 3.76 s, silence to 5 s
        said = segment(W("so", 2.68, 2.76), W("bring", 2.76, 3.0), W("snacks.", 3.34, 3.62))
        run_on = segment(
            W("Okay,", 3.74, 3.76),
            *(W(w, 4.98, 4.98) for w in "here's what I'm going to do, so I'm going".split()),
        )
        mistimed = segment(W("bring", 2.76, 3.0), W("some", 4.98, 4.98))  # one of two on voice
        kept, removed = without_unvoiced_segments([said, run_on, mistimed], [(0.2, 3.86)], voiced)
        assert kept == [said, mistimed] and removed == 1

    def test_a_sentence_made_up_after_a_real_one_in_its_segment_goes(self) -> None:
        # "…we should probably leave. We'll see if we can leave.": one segment, the second
        # sentence in the silence after the speech. The first stays, as it was written.
        voiced = np.zeros(200, dtype=bool)
        voiced[15:159] = True  # speech from 0.3 s to 3.18 s, silence to 4 s
        said = [W("we", 1.94, 2.0), W("should", 2.0, 2.26), W("leave.", 2.7, 3.18)]
        made_up = [W("We'll", 3.18, 3.34), W("see", 3.34, 3.34), W("if", 3.34, 3.58)]
        made_up += [W(w, 3.58, 3.58) for w in ("we", "can", "leave.")]
        kept, removed = without_unvoiced_segments([segment(*said, *made_up)], [(0.3, 3.2)], voiced)
        assert [w.word for s in kept for w in s.words] == ["we", "should", "leave."]
        assert kept[0].text == "we should leave." and removed == 1
        # A segment all of whose sentences are said is kept as whisper wrote it.
        two = segment(*said, W("Okay.", 3.0, 3.1))
        assert without_unvoiced_segments([two], [(0.3, 3.2)], voiced) == ([two], 0)

    def test_a_word_hung_on_the_last_voiced_frame_is_not_speech(self) -> None:
        voiced = np.zeros(500, dtype=bool)
        voiced[0:240] = True  # speech until 4.8 s
        closing = segment(W("Thank", 4.82, 6.0), W("you", 6.0, 6.0))
        assert without_unvoiced_segments([closing], [(0.0, 4.9)], voiced) == ([], 1)


class TestEchoes:
    """A sentence whisper wrote again right after itself, where it was said once."""

    def test_a_copy_whisper_ruled_out_goes(self) -> None:
        said = segment(W("Yes.", 0.0, 0.24, 0.59))
        echo = segment(W("Yes.", 0.24, 0.42, 0.07))
        assert without_echoes([said, echo]) == ([said], 1)
        # In one segment, and a copy of the end of the sentence before.
        ends = [W("Okay,", 0.0, 0.3, 0.7), W("okay.", 0.3, 0.6, 0.8)]
        kept, removed = without_echoes([segment(*ends, W("Okay.", 0.6, 0.62, 0.01))])
        assert [w.word for s in kept for w in s.words] == ["Okay,", "okay."] and removed == 1

    @pytest.mark.parametrize(
        "again",
        [
            W("Yes.", 0.24, 0.42, ECHO_PROBABILITY),  # whisper heard something
            W("Yes.", 0.24 + ECHO_GAP_S + 0.05, 0.6, 0.05),  # said again after a pause
            W("Yeah.", 0.24, 0.42, 0.05),  # another word
        ],
    )
    def test_a_word_said_again_stays(self, again: W) -> None:
        held = [segment(W("Yes.", 0.0, 0.24, 0.59)), segment(again)]
        assert without_echoes(held) == (held, 0)


class TestMadeUpEnding:
    """A closing phrase whisper hung on the end of the speech ("… your country. Thank you.")."""

    SAID = (W("your", 20.9, 21.16, 0.99), W("country.", 21.16, 21.44, 1.0))

    def test_a_closing_whisper_ruled_out_and_gave_no_time_goes(self) -> None:
        closing = (W("Thank", 21.44, 21.44, 0.03), W("you.", 21.44, 21.72, 0.98))
        kept, removed = without_made_up_ending([segment(*self.SAID, *closing)])
        assert [w.word for s in kept for w in s.words] == ["your", "country."] and removed == 1
        # In a segment of its own too.
        kept, removed = without_made_up_ending([segment(*self.SAID), segment(*closing)])
        assert kept == [segment(*self.SAID)] and removed == 1

    @pytest.mark.parametrize(
        "closing",
        [
            (W("Thank", 21.44, 21.6, 0.03), W("you.", 21.6, 21.9, 0.98)),  # given time: said
            (W("Thank", 21.44, 21.44, ECHO_PROBABILITY), W("you.", 21.44, 21.72)),  # heard
            (W("Thank", 21.44 + ECHO_GAP_S + 0.05, 21.6, 0.03), W("you.", 21.6, 21.9)),  # later
            tuple(
                W(w, 21.44, 21.44 + 0.1 * (k > 0), 0.03 if k == 0 else 0.9)
                for k, w in enumerate(["And", "then", "we", "left."])
            ),  # a sentence
        ],
    )
    def test_a_closing_said_stays(self, closing: tuple[W, ...]) -> None:
        held = [segment(*self.SAID, *closing)]
        assert without_made_up_ending(held) == (held, 0)

    def test_the_only_sentence_stays(self) -> None:
        held = [segment(W("Thank", 0.0, 0.0, 0.03), W("you.", 0.0, 0.3, 0.98))]
        assert without_made_up_ending(held) == (held, 0)


def scripted(
    lose: tuple[float, float] | None = None,
    closing: bool = False,
    starts_with: AudioArray | None = None,
) -> tuple[list[float], TranscribeChunk]:
    """A chunk transcriber that puts a word on every 0.5 s of loud audio, except in ``lose``
    (on the first call only) and, with ``closing``, adds a sentence in the trailing silence
    of the first call. With ``starts_with``, "the first call" is the one whose audio starts
    with those samples (the recording's first chunk), whatever order calls arrive in."""
    calls: list[float] = []
    firsts: list[bool] = []

    async def transcribe(samples: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        calls.append(len(samples) / SAMPLE_RATE)
        if starts_with is None:
            first = len(calls) == 1
        else:
            head = samples[: len(starts_with)]
            first = not any(firsts) and np.array_equal(head, starts_with)
        firsts.append(first)
        frame = SAMPLE_RATE // 2
        words = []
        for i in range(len(samples) // frame):
            t = i * 0.5
            loud = float(np.abs(samples[i * frame : (i + 1) * frame]).max()) > 0.05
            if loud and not (lose and first and lose[0] <= t < lose[1]):
                words.append(W(f"w{i}", t + 0.05, t + 0.45))
        segments = [segment(w) for w in words]
        if closing and first:
            end = len(samples) / SAMPLE_RATE
            segments.append(segment(W("Thank", end - 0.3, end - 0.2), W("you.", end - 0.2, end)))
        return ChunkTranscript(tuple(segments), "en", "fake", "fake-model")

    return calls, transcribe


@pytest.fixture(scope="module")
def speech() -> AudioArray:
    """Real speech (the 3-minute fixture's first 40 s), so the VAD has speech to find."""
    audio = decode(FIXTURES / "speech_3min.mp3")[: 40 * SAMPLE_RATE]
    silence = np.zeros(3 * SAMPLE_RATE, dtype=np.float32)
    return np.concatenate([audio, silence])


async def test_a_sentence_the_backend_lost_is_transcribed_again(speech: AudioArray) -> None:
    calls, transcribe = scripted(lose=(10.0, 20.0))
    transcript = await transcribe_chunked(speech, TranscriptionOptions(), transcribe, **ONE_CHUNK)
    coverage = transcript.coverage
    assert coverage["repairs"] >= 1 and coverage["words_recovered"] >= 10
    assert len(calls) >= 2 and all(seconds <= REPAIR_MAX_S + 0.01 for seconds in calls[1:])
    times = [w.start for w in transcript.words()]
    assert times == sorted(times)
    assert sum(10.0 <= t < 20.0 for t in times) >= 10
    assert coverage["unrecovered_s"] < coverage["uncovered_s"]


async def test_made_up_words_in_silence_go_and_real_ones_stay(speech: AudioArray) -> None:
    _, transcribe = scripted(closing=True)
    transcript = await transcribe_chunked(speech, TranscriptionOptions(), transcribe, **ONE_CHUNK)
    words = [w.word for w in transcript.words()]
    assert "Thank" not in words and len(words) >= 40
    assert transcript.coverage["removed_segments"] >= 1


async def test_a_sentence_laid_over_the_wrong_audio_is_put_back_and_that_audio_decoded(
    speech: AudioArray,
) -> None:
    """The first call loses 10-20 s and writes its words over 20-30 s instead, as a batched
    window that whisper ended early can come back. Every call names a word by where it lies in
    the recording, so a repair writes the same words the first call misplaced."""
    calls: list[float] = []
    frame = SAMPLE_RATE // 2

    def said(n: int) -> bool:
        """Whether word ``n`` was said: one word every half second of the speech."""
        return 0 <= n < 40 * 2

    async def transcribe(samples: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        calls.append(len(samples) / SAMPLE_RATE)
        offset = _offset_in(speech, samples)
        words = []
        for i in range(len(samples) // frame):
            n = round((offset + i * frame) / frame)
            if len(calls) == 1 and 20 <= n < 60:
                n = n - 20 if n >= 40 else -1  # 10-20 s lost, its words laid over 20-30 s
            if said(n):
                name = f"w{n}." if n % 4 == 3 else f"w{n}"
                words.append(W(name, i * 0.5 + 0.05, i * 0.5 + 0.45))
        sentences = Segment.from_words(words).sentences() if words else []
        return ChunkTranscript(tuple(sentences), "en", "fake", "fake-model")

    transcript = await transcribe_chunked(speech, TranscriptionOptions(), transcribe, **ONE_CHUNK)
    names = [int(w.word.strip("w.")) for w in transcript.words()]
    assert len(names) == len(set(names)), "no word twice"
    assert names == sorted(names)
    assert all(abs(w.start - int(w.word.strip("w.")) / 2) < 0.5 for w in transcript.words())
    assert sum(20.0 <= w.start < 30.0 for w in transcript.words()) >= 10
    assert transcript.coverage["misplaced_words"] >= COPY_WORDS
    assert transcript.coverage["repairs"] >= 2


async def test_speech_after_a_stretch_whisper_stops_at_is_decoded_from_there(
    speech: AudioArray,
) -> None:
    """English, then 26-31 s that whisper cannot read (another language), then English to 40 s.
    As whisper does, a call that reaches that stretch ends its text there, and one that starts
    in it writes nothing for it and reads on. The first pass and the first repair (widened to
    the sentence before) both stop at 26 s; the speech after it is decoded from where they
    stopped, and only the unreadable stretch stays without words."""
    unreadable = (26.0, 31.0)
    frame = SAMPLE_RATE // 2
    starts: list[float] = []

    async def transcribe(samples: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        offset = _offset_in(speech, samples) / SAMPLE_RATE
        starts.append(offset)
        inside = unreadable[0] - 1.0 < offset < unreadable[1]
        words = []
        for at, word in _loud_words(samples, offset):
            if unreadable[0] <= at < unreadable[1]:
                if inside:
                    continue
                break
            words.append(word)
        return _sentences(words)

    transcript = await transcribe_chunked(speech, TranscriptionOptions(), transcribe, **ONE_CHUNK)
    times = [w.start for w in transcript.words()]
    assert times == sorted(times)
    loud = [
        k * 0.5
        for k in range(len(speech) // frame)
        if float(np.abs(speech[k * frame : (k + 1) * frame]).max()) > 0.05
    ]
    after = [t for t in loud if t >= unreadable[1]]
    assert len(after) >= 8
    assert sum(t >= unreadable[1] for t in times) >= len(after) - 2
    assert not any(unreadable[0] + 0.5 <= t < unreadable[1] - 0.5 for t in times)
    assert all(
        unreadable[0] - 1.0 <= a and b <= unreadable[1] + 1.0
        for a, b in transcript.coverage["unrecovered"]
    ), transcript.coverage["unrecovered"]
    assert any(unreadable[0] - 1.0 < start < unreadable[1] for start in starts)


async def test_a_gap_a_widened_repair_skipped_is_decoded_on_its_own(speech: AudioArray) -> None:
    """The first pass loses 11.5-20 s. The first repair, widened to the sentence around the gap,
    comes back with that sentence's words only, as whisper skipped a gap inside a wider window
    of ``lecture_10min``; the gap decoded on its own comes back whole."""
    lost = (11.5, 20.0)
    starts: list[float] = []

    async def transcribe(samples: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        offset = _offset_in(speech, samples) / SAMPLE_RATE
        starts.append(offset)
        skips = offset < lost[0] - 1.0  # the whole recording, or a window reaching well before
        words = [
            word
            for at, word in _loud_words(samples, offset)
            if not (skips and lost[0] <= at < lost[1])
        ]
        return _sentences(words)

    transcript = await transcribe_chunked(speech, TranscriptionOptions(), transcribe, **ONE_CHUNK)
    coverage = transcript.coverage
    assert starts[1] < lost[0] - 1.0, "the first repair was widened to the sentence before"
    assert any(lost[0] - 1.0 <= start < lost[0] for start in starts[2:]), starts
    times = [w.start for w in transcript.words()]
    assert times == sorted(times)
    assert sum(lost[0] <= t < lost[1] for t in times) >= 10
    assert coverage["repairs"] >= 2 and coverage["unrecovered_s"] < coverage["uncovered_s"] / 4
    assert len(times) == len(set(times)), "no word twice"


async def test_a_decoder_loop_over_speech_is_decoded_again(speech: AudioArray) -> None:
    """The first pass writes one word over and over across 11.5-20 s of speech, every copy
    sure and on voiced audio, as batched decoding did over two stuttered sentences; the loop
    goes and the speech under it is decoded again."""
    looped = (11.5, 20.0)

    async def transcribe(samples: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        offset = _offset_in(speech, samples) / SAMPLE_RATE
        words = _loud_words(samples, offset)
        if offset > 1.0:  # a repair: whisper decodes its window again, at other temperatures
            return _sentences([word for _, word in words])
        kept = [word for at, word in words if not looped[0] <= at < looped[1]]
        loop = [
            W("door", t - offset, t - offset + 0.08, 0.97)
            for t in np.arange(looped[0], looped[1], 0.1)
        ]
        return _sentences(sorted([*kept, *loop], key=lambda w: w.start))

    transcript = await transcribe_chunked(speech, TranscriptionOptions(), transcribe, **ONE_CHUNK)
    coverage = transcript.coverage
    words = transcript.words()
    assert not any(w.word == "door" for w in words)
    assert sum(looped[0] <= w.start < looped[1] for w in words) >= 10
    assert coverage["looped_s"] >= looped[1] - looped[0] - 1.0
    assert coverage["repairs"] >= 1 and coverage["words_recovered"] < 0  # 85 out, ~15 back
    times = [w.start for w in words]
    assert times == sorted(times) and len(times) == len(set(times))


async def test_a_loop_a_repair_writes_does_not_replace_the_words_held(speech: AudioArray) -> None:
    """The first pass loses 10-14 s and holds the words around it; the repair, widened to the
    sentences beside the gap, writes one filler over and over across the whole window (as
    whisper did under GENERIC kernels). Its copies would cover more of the window's voiced
    audio than the words held there and replace them: the words held stay, and the loop only
    fills the speech that had none."""
    lost = (10.0, 14.0)

    async def transcribe(samples: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        offset = _offset_in(speech, samples) / SAMPLE_RATE
        if offset > 1.0:  # a repair: a loop of "ahh..." from its start to its end
            end = len(samples) / SAMPLE_RATE
            return _sentences([W("ahh...", t, t + 0.15, 0.8) for t in np.arange(0.0, end, 0.2)])
        words = _loud_words(samples, offset)
        return _sentences([word for at, word in words if not lost[0] <= at < lost[1]])

    transcript = await transcribe_chunked(speech, TranscriptionOptions(), transcribe, **ONE_CHUNK)
    first = await transcribe(speech, TranscriptionOptions())
    held = [w.word for s in first.segments for w in s.words]
    words = transcript.words()
    assert [w.word for w in words if w.word != "ahh..."] == held
    # The loop fills only the speech that had no words.
    assert all(lost[0] - 0.5 <= w.start < lost[1] + 0.5 for w in words if w.word == "ahh...")
    assert transcript.coverage["repairs"] >= 1


async def test_a_short_phrase_between_pauses_that_the_first_pass_skipped_is_decoded_again(
    speech: AudioArray,
) -> None:
    """Speech, a 2 s pause, 0.6 s of speech on its own ("The kids were"), a 2 s block, speech:
    the first pass writes no word for the short phrase, too short for ``MIN_UNCOVERED_S``; it
    is decoded again and its word kept."""
    pause = np.zeros(2 * SAMPLE_RATE, dtype=np.float32)
    phrase = speech[int(2.0 * SAMPLE_RATE) : int(2.6 * SAMPLE_RATE)]
    audio = np.concatenate(
        [speech[: 8 * SAMPLE_RATE], pause, phrase, pause, speech[8 * SAMPLE_RATE :]]
    )
    alone = (10.0, 10.6)

    async def transcribe(samples: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        offset = _offset_in(audio, samples) / SAMPLE_RATE
        words = _loud_words(samples, offset)
        if offset < 1.0:  # the first pass
            words = [(at, word) for at, word in words if not alone[0] - 0.5 < at < alone[1]]
        return _sentences([word for _, word in words])

    first = await transcribe(audio, TranscriptionOptions())
    held = [w for s in first.segments for w in s.words]
    assert not any(alone[0] - 0.5 < w.start < alone[1] + 0.5 for w in held)
    transcript = await transcribe_chunked(audio, TranscriptionOptions(), transcribe, **ONE_CHUNK)
    assert any(alone[0] - 0.5 < w.start < alone[1] + 0.5 for w in transcript.words())
    assert transcript.coverage["repairs"] >= 1 and transcript.coverage["words_recovered"] >= 1


def _loud_words(samples: AudioArray, offset: float) -> list[tuple[float, W]]:
    """A word for each loud half second of a call's ``samples`` (``offset`` s into the
    recording), in the call's time, named by where it lies in the recording; every fourth ends
    a sentence."""
    frame = SAMPLE_RATE // 2
    words = []
    for i in range(len(samples) // frame):
        if float(np.abs(samples[i * frame : (i + 1) * frame]).max()) > 0.05:
            at = offset + i * 0.5
            n = round(at * 2)
            words.append(
                (at, W(f"w{n}." if n % 4 == 3 else f"w{n}", i * 0.5 + 0.05, i * 0.5 + 0.45))
            )
    return words


def _sentences(words: list[W]) -> ChunkTranscript:
    sentences = Segment.from_words(words).sentences() if words else []
    return ChunkTranscript(tuple(sentences), "en", "fake", "fake-model")


def _offset_in(whole: AudioArray, part: AudioArray) -> int:
    """Where ``part`` starts in ``whole``, in samples: found by its loudest samples, since a
    piece of silence matches anywhere."""
    loudest = int(np.argmax(np.abs(part)))
    key = part[loudest : loudest + 256]
    for start in np.flatnonzero(whole == key[0]):
        if np.array_equal(whole[start : start + len(key)], key):
            return int(start) - loudest
    raise AssertionError("not a piece of the recording")


async def test_without_word_times_nothing_is_checked(speech: AudioArray) -> None:
    calls, transcribe = scripted(lose=(10.0, 20.0))
    options = TranscriptionOptions(word_timestamps=False)
    transcript = await transcribe_chunked(speech, options, transcribe, **ONE_CHUNK)
    assert transcript.coverage == {} and len(calls) == 1


@pytest.fixture(scope="module")
def ten_minutes() -> AudioArray:
    return decode(FIXTURES / "speech_10min.opus")


class TestSpeechReadBlockByBlock:
    """Silero VAD a block at a time finds exactly what faster-whisper's whole-array call does."""

    def test_over_several_of_the_models_batches(self, ten_minutes: AudioArray) -> None:
        # 10 minutes is two batches of 10,000 windows; 320 s is one, plus a padding window.
        for audio in (ten_minutes, ten_minutes[: 512 * 10_000], ten_minutes[:12_345]):
            expected = get_speech_timestamps(audio, SPEECH_VAD, sampling_rate=SAMPLE_RATE)
            assert len(expected) > 0
            assert silero_speech(audio).spans == [
                (s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in expected
            ]

    def test_with_the_options_we_do_not_use(self, ten_minutes: AudioArray) -> None:
        audio = ten_minutes[: 200 * SAMPLE_RATE]
        probabilities = speech_probabilities(InMemoryAudio(audio))
        for options in (
            VadOptions(),
            VadOptions(max_speech_duration_s=4.0, min_speech_duration_ms=250, speech_pad_ms=30),
            VadOptions(max_speech_duration_s=1.5, neg_threshold=0.2, min_silence_duration_ms=100),
        ):
            expected = get_speech_timestamps(audio, options, sampling_rate=SAMPLE_RATE)
            assert speech_timestamps(probabilities, len(audio), options, SAMPLE_RATE) == expected


async def test_a_recording_read_from_disk_gives_the_same_transcript_a_few_chunks_at_a_time(
    tmp_path: Path,
) -> None:
    """Read from its PCM file, two pieces of audio out at once, a recording's transcript —
    repairs, removed segments, sounds and repeats included — is the one its array gives."""
    path = FIXTURES / "speech_3min.mp3"
    pcm = decode_to_file(path, tmp_path / "audio.f32")
    short_chunks = {"target_s": 55.0, "max_s": 60.0, "overlap_s": 1.0}
    _, from_array = scripted(lose=(10.0, 20.0), closing=True)
    whole = await transcribe_chunked(
        decode(path), TranscriptionOptions(), from_array, **short_chunks
    )

    # Calls arrive in whatever order the reads finish: the loss follows the first chunk.
    _, scripted_transcribe = scripted(
        lose=(10.0, 20.0), closing=True, starts_with=decode(path)[:SAMPLE_RATE]
    )
    out, most_out = 0, 0
    two_out = asyncio.Event()

    async def counted(samples: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        nonlocal out, most_out
        out += 1
        most_out = max(most_out, out)
        if out == 2:
            two_out.set()
        # Held until a second piece is out as well, however slowly the reads finish on a busy
        # machine (a fixed sleep raced them); if none comes, most_out stays 1 and fails below.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(two_out.wait(), timeout=10)
        out -= 1
        return await scripted_transcribe(samples, options)

    streamed = await transcribe_chunked(
        pcm, TranscriptionOptions(), counted, **short_chunks, in_flight=2
    )
    assert most_out == 2
    assert whole.coverage["repairs"] >= 1 and whole.coverage["removed_segments"] >= 1
    assert streamed.to_dict() == whole.to_dict()


def test_a_coverage_summary_counts_each_list() -> None:
    stored = Coverage(
        voiced_s=12.5,
        uncovered_s=0.4,
        repairs=1,
        words_recovered=3,
        unrecovered_s=0.0,
        sounds=(Sound(1.0, 1.4, noisy=False),),
        pauses=((2.0, 2.2), (5.0, 5.3)),
    ).to_dict()
    counts = coverage_counts(stored)
    assert counts["pauses"] == 2 and counts["sounds"] == 1 and counts["repeats"] == 0
    assert counts["unrecovered"] == 0 and counts["fillers"] == 0
    assert (counts["voiced_s"], counts["repairs"], counts["words_recovered"]) == (12.5, 1, 3)
    assert counts.keys() == stored.keys()
