"""Metrics after a clinician's review (``pipelines.review``): computed from the events as given,
checked against values worked out by hand, and equal to detection's when nothing is changed."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from pipelines.coverage import Sound
from pipelines.metrics import FluencyMetrics, MetricsSettings, compute_metrics
from pipelines.review import InvalidAnnotation, Review, ReviewedEvent, review
from pipelines.types import Segment, Word


def timed(*items: tuple[str, float, float]) -> list[Word]:
    return [Word(word=w, start=s, end=e) for w, s, e in items]


def spoken(text: str, *, word_s: float = 0.3, gap_s: float = 0.05) -> list[Word]:
    words, t = [], 0.0
    for token in text.split():
        words.append(Word(word=token, start=round(t, 3), end=round(t + word_s, 3)))
        t += word_s + gap_s
    return words


def reviewed(
    words: Sequence[Word], events: Sequence[ReviewedEvent], duration_s: float = 5.0
) -> Review:
    return review([Segment.from_words(words)], events, duration_s=duration_s, language="en")


# I(1) I(-) want(1) to(1) go(1) um(1) [1.2 s silence] home(1) today(2): 8 syllables.
SESSION = timed(
    ("I", 0.0, 0.2), ("I", 0.3, 0.5), ("want", 0.6, 0.9), ("to", 1.0, 1.1), ("go", 1.2, 1.4),
    ("um", 1.5, 1.8), ("home", 3.0, 3.5), ("today", 3.6, 4.2),
)  # fmt: skip
REPEATED_I = ReviewedEvent("repetition", 0.0, 0.5, subtype="whole_word")
UM = ReviewedEvent("interjection", 1.5, 1.8)
BLOCK = ReviewedEvent("block", 1.8, 3.0)
PROLONGED_TODAY = ReviewedEvent("prolongation", 3.6, 4.2, to_review=True)


class TestHandComputed:
    def test_metrics_after_review_equal_the_hand_computed_values(self) -> None:
        metrics = reviewed(SESSION, [REPEATED_I, UM, BLOCK, PROLONGED_TODAY]).metrics
        # Stuttered: "I" (the repetition's) and "home" (the block's) of 8 syllables.
        assert metrics.syllable_count == 8
        assert metrics.stuttered_syllables == 2
        assert metrics.percent_syllables_stuttered == pytest.approx(25.0)
        assert metrics.stuttering_like_disfluencies == 2
        assert metrics.other_disfluencies == 1
        assert metrics.sld_per_100_syllables == pytest.approx(25.0)
        # Three counted events over a 4.2 s speaking span; the prolongation waits for review.
        assert metrics.disfluency_count == 3
        assert metrics.disfluencies_per_minute == pytest.approx(60 * 3 / 4.2)
        assert [e.type for e in metrics.to_review] == ["prolongation"]
        assert metrics.counts_by_type == {
            "interjection": 1,
            "repetition": 1,
            "revision": 0,
            "prolongation": 0,
            "block": 1,
        }
        assert metrics.words_per_minute == pytest.approx(60 * 8 / 4.2)
        assert metrics.syllables_per_minute == pytest.approx(60 * 8 / 4.2)
        assert (metrics.pause_count, metrics.mean_pause_s) == (1, pytest.approx(1.2))
        assert metrics.articulation_rate == pytest.approx(8 / 3.0)
        assert metrics.duration_s == 5.0

    def test_removing_and_confirming_events_moves_every_number(self) -> None:
        # The repetition was a deliberate "I, I"; the prolongation of "today" is confirmed.
        confirmed = ReviewedEvent("prolongation", 3.6, 4.2)
        metrics = reviewed(SESSION, [UM, BLOCK, confirmed]).metrics
        # Both "I"s count now: 9 syllables; "home" and "today" stuttered.
        assert metrics.syllable_count == 9
        assert metrics.stuttered_syllables == 2
        assert metrics.percent_syllables_stuttered == pytest.approx(200 / 9)
        assert metrics.counts_by_type["repetition"] == 0
        assert metrics.counts_by_type["prolongation"] == 1
        assert metrics.to_review == ()

    def test_relabelling_changes_what_counts_as_stuttering(self) -> None:
        # "um" relabelled a part-word repetition is stuttering-like; its target is "um" itself.
        relabelled = ReviewedEvent("repetition", 1.5, 1.8, subtype="part_word")
        metrics = reviewed(SESSION, [REPEATED_I, relabelled, BLOCK]).metrics
        assert metrics.stuttering_like_disfluencies == 3
        assert metrics.stuttered_syllables == 3
        assert metrics.percent_syllables_stuttered == pytest.approx(300 / 8)

    def test_a_two_syllable_word_repeated_whole_is_not_stuttering_like(self) -> None:
        words = spoken("today today we go")
        metrics = reviewed(
            words, [ReviewedEvent("repetition", 0.0, 0.65, subtype="whole_word")]
        ).metrics
        assert (metrics.stuttering_like_disfluencies, metrics.other_disfluencies) == (0, 1)
        # Every iteration of an other disfluency is spoken: 2 + 2 + 1 + 1.
        assert metrics.syllable_count == 6
        assert metrics.percent_syllables_stuttered == 0.0

    def test_fragments_of_a_part_word_repetition_add_no_syllables(self) -> None:
        words = timed(("b-", 0.0, 0.1), ("b-", 0.2, 0.3), ("brother", 0.4, 0.9), ("came", 1.0, 1.3))
        metrics = reviewed(
            words, [ReviewedEvent("repetition", 0.0, 0.9, subtype="part_word")]
        ).metrics
        # b-(-) b-(-) brother(2) came(1) = 3 syllables, "brother" stuttered.
        assert metrics.syllable_count == 3
        assert metrics.percent_syllables_stuttered == pytest.approx(100 / 3)
        assert metrics.disfluencies[0].text == "b- b- brother"

    def test_a_corrected_word_changes_the_syllables(self) -> None:
        words = [*SESSION[:7], Word("tomorrow", 3.6, 4.2)]
        metrics = reviewed(words, [REPEATED_I, UM, BLOCK]).metrics
        assert metrics.syllable_count == 9
        assert metrics.percent_syllables_stuttered == pytest.approx(200 / 9)

    def test_a_syllable_two_events_target_is_stuttered_once(self) -> None:
        block = ReviewedEvent("block", 1.8, 3.0)
        prolonged_home = ReviewedEvent("prolongation", 3.0, 3.5)
        metrics = reviewed(SESSION, [block, prolonged_home]).metrics
        assert metrics.stuttering_like_disfluencies == 2
        assert metrics.stuttered_syllables == 1

    def test_stored_events_carry_the_review_and_their_computed_flags(self) -> None:
        result = reviewed(SESSION, [PROLONGED_TODAY, UM, BLOCK])
        assert [(e["type"], e["to_review"], e["stuttering_like"]) for e in result.events] == [
            ("interjection", False, False),
            ("block", False, True),
            ("prolongation", True, True),
        ]
        block = result.events[1]
        assert (block["text"], block["evidence"], block["confidence"]) == (
            "home",
            ["clinician"],
            1.0,
        )

    def test_a_segment_takes_its_text_from_its_corrected_words(self) -> None:
        segment = Segment(0.0, 1.0, "I want to go", (Word("I", 0.0, 0.2), Word("wanna", 0.3, 0.9)))
        result = review([segment], [], duration_s=2.0, language="en")
        assert result.segments[0].text == "I wanna"
        assert (result.segments[0].start, result.segments[0].end) == (0.0, 1.0)

    def test_a_segment_keeps_its_span_and_widens_it_to_cover_its_words(self) -> None:
        """Whisper's segment starts before its first word (0.0 against 0.32 s on JFK): an
        unchanged review keeps it; a word moved outside it widens it."""
        words = (Word("And", 0.32, 0.5), Word("so", 0.5, 0.8))
        kept = review([Segment(0.0, 1.2, "And so", words)], [], duration_s=2.0, language="en")
        assert (kept.segments[0].start, kept.segments[0].end) == (0.0, 1.2)
        moved = (Word("And", 0.32, 0.5), Word("so", 0.5, 1.5))
        widened = review([Segment(0.4, 1.2, "And so", moved)], [], duration_s=2.0, language="en")
        assert (widened.segments[0].start, widened.segments[0].end) == (0.32, 1.5)


BLOCKED_SNAKE = (
    ("I", 0.0, 0.2), ("saw", 0.3, 0.5), ("a", 0.6, 0.7), ("big", 0.8, 1.0),
    ("snake", 2.5, 4.0), ("in", 4.1, 4.3), ("the", 4.4, 4.6), ("yard.", 4.7, 5.0),
)  # fmt: skip
UNCHANGED = {
    "whole-word repetition": spoken("my my my name is Sam"),
    "part-word fragments": spoken("b- b- but I want it"),
    "hyphenated stutter": spoken("b-b-but I I want it"),
    "fillers": spoken("Um, I like, uh, UHM cats, hmm... erm mm ah."),
    "phrase and revision": spoken("I want I want a cookie and I went- I go to school"),
    "filler inside a repetition": spoken("my, um, my name"),
    "repeated syllable": spoken("kuh kuh kuh coffee please"),
    "prolongation and block": timed(*BLOCKED_SNAKE),
}


def _as_reviewed(metrics: FluencyMetrics) -> list[ReviewedEvent]:
    data = metrics.to_dict()
    return [
        ReviewedEvent.from_dict({**event, "to_review": listed})
        for key, listed in (("disfluencies", False), ("to_review", True))
        for event in data[key]
    ]


class TestUnchangedReview:
    @pytest.mark.parametrize("words", UNCHANGED.values(), ids=UNCHANGED.keys())
    def test_confirming_every_detected_event_keeps_every_number(self, words: list[Word]) -> None:
        automatic = compute_metrics(words, 6.0)
        result = reviewed(words, _as_reviewed(automatic), duration_s=6.0)
        assert result.metrics.to_dict() == automatic.to_dict()

    def test_events_found_in_the_sound_keep_their_numbers(self) -> None:
        words = timed(
            ("Maybe", 1.17, 1.69),
            *((w, 1.7 + i * 0.3, 1.95 + i * 0.3) for i, w in enumerate("we can try it".split())),
        )
        onset = Sound(0.43, 1.15, noisy=False, flows_on=True)
        hum = Sound(3.0, 3.5, noisy=False)
        automatic = compute_metrics(words, 5.0, sounds=[onset, hum])
        assert (automatic.stuttered_syllables, len(automatic.to_review)) == (1, 1)
        result = reviewed(words, _as_reviewed(automatic))
        assert result.metrics.to_dict() == automatic.to_dict()

    def test_the_thresholds_of_the_automatic_analysis_are_kept(self) -> None:
        settings = MetricsSettings(pause_min_s=0.05)
        metrics = review(
            [Segment.from_words(SESSION)], [], duration_s=5.0, language="en", settings=settings
        ).metrics
        assert metrics.settings == settings
        assert metrics.pause_count == 7


class TestUntranscribed:
    """Voiced audio the automatic analysis left without words, through a clinician's review."""

    # I want to go [voiced, no words, 1.5-3.5 s] home today.
    SPOKEN = timed(
        ("I", 0.0, 0.2), ("want", 0.3, 0.6), ("to", 0.7, 0.8), ("go", 0.9, 1.1),
        ("home", 3.8, 4.2), ("today", 4.3, 4.8),
    )  # fmt: skip
    LEFT = ((1.5, 3.5),)

    def metrics(self, words: Sequence[Word]) -> FluencyMetrics:
        return review(
            [Segment.from_words(words)], [], duration_s=5.0, language="en", untranscribed=self.LEFT
        ).metrics

    def test_a_stretch_no_word_covers_stays_listed_and_noticed(self) -> None:
        metrics = self.metrics(self.SPOKEN)
        assert metrics.untranscribed == self.LEFT
        assert metrics.untranscribed_s == pytest.approx(2.0)
        assert metrics.untranscribed_notice
        assert metrics.to_dict()["untranscribed"] == [[1.5, 3.5]]

    def test_words_the_clinician_wrote_there_take_it_out(self) -> None:
        written = timed(("came", 1.6, 2.0), ("back", 2.1, 2.5), ("later", 2.6, 3.2))
        words = sorted([*self.SPOKEN, *written], key=lambda w: w.start)
        metrics = self.metrics(words)
        assert metrics.untranscribed == ()
        assert not metrics.untranscribed_notice
        assert metrics.word_count == 9

    def test_a_word_covering_part_of_it_leaves_the_rest(self) -> None:
        words = sorted([*self.SPOKEN, Word("came", 1.6, 2.0)], key=lambda w: w.start)
        (left,) = self.metrics(words).untranscribed
        assert left == pytest.approx((2.3, 3.5))  # "came" covers up to 0.5 s + 0.3 s slack

    def test_a_second_of_it_in_a_long_sample_is_listed_without_a_notice(self) -> None:
        words = spoken(" ".join(["so we walked on"] * 25))  # 35 s of speech
        metrics = review(
            [Segment.from_words(words)],
            [],
            duration_s=40.0,
            language="en",
            untranscribed=[(35.5, 36.7)],
        ).metrics
        assert metrics.untranscribed_s == pytest.approx(1.2)
        assert metrics.untranscribed_share < MetricsSettings().untranscribed_notice_share
        assert not metrics.untranscribed_notice


class TestStoredMetrics:
    def test_metrics_read_back_from_json_render_the_same(self) -> None:
        metrics = reviewed(SESSION, [REPEATED_I, UM, BLOCK, PROLONGED_TODAY]).metrics
        stored = json.loads(json.dumps(metrics.to_dict()))
        assert FluencyMetrics.from_dict(stored).to_dict() == metrics.to_dict()

    def test_untranscribed_audio_reads_back(self) -> None:
        words = TestUntranscribed.SPOKEN
        metrics = compute_metrics(words, 5.0, untranscribed=TestUntranscribed.LEFT)
        stored = json.loads(json.dumps(metrics.to_dict()))
        assert FluencyMetrics.from_dict(stored).to_dict() == metrics.to_dict()

    def test_metrics_stored_before_untranscribed_audio_was_kept_read_back(self) -> None:
        stored = compute_metrics(SESSION, 5.0).to_dict()
        for key in ("untranscribed", "untranscribed_s", "untranscribed_share"):
            del stored[key]
        assert FluencyMetrics.from_dict(stored).untranscribed == ()

    def test_metrics_without_syllable_counting_read_back(self) -> None:
        metrics = compute_metrics(spoken("ich bin da"), 2.0, language="ja")
        assert FluencyMetrics.from_dict(metrics.to_dict()).to_dict() == metrics.to_dict()


def problems(
    events: Sequence[ReviewedEvent] = (),
    segments: Sequence[Segment] = (Segment.from_words(SESSION),),
    duration_s: float = 5.0,
) -> str:
    with pytest.raises(InvalidAnnotation) as raised:
        review(segments, events, duration_s=duration_s, language="en")
    return str(raised.value)


class TestInvalidAnnotations:
    def test_an_unknown_type_is_refused(self) -> None:
        assert "type must be one of" in problems([ReviewedEvent("stammer", 0.0, 0.5)])

    @pytest.mark.parametrize(
        ("start", "end", "message"),
        [
            (-0.5, 0.5, "must not be negative"),
            (2.0, 1.0, "must not end before it starts"),
            (4.0, 6.0, "past the end of the recording"),
            (float("nan"), 1.0, "finite"),
        ],
    )
    def test_bad_event_times_are_refused(self, start: float, end: float, message: str) -> None:
        assert message in problems([ReviewedEvent("interjection", start, end)])

    def test_a_point_event_is_accepted(self) -> None:
        """Detection puts events on words trimmed to no length; a review keeps them."""
        um = timed(("so", 0.0, 0.4), ("um", 1.0, 1.0), ("yes", 1.2, 1.5))
        metrics = reviewed(um, [ReviewedEvent("interjection", 1.0, 1.0)]).metrics
        assert metrics.disfluency_count == 1
        assert metrics.counts_by_type["interjection"] == 1

    def test_overlapping_events_of_one_type_are_refused(self) -> None:
        found = problems([ReviewedEvent("block", 1.8, 3.0), ReviewedEvent("block", 2.5, 3.2)])
        assert "events[0] and events[1] are both blocks and overlap" in found

    def test_an_event_inside_a_longer_one_of_its_type_is_refused(self) -> None:
        long, inner, later = (
            ReviewedEvent("interjection", 0.0, 3.0),
            ReviewedEvent("interjection", 0.5, 1.0),
            ReviewedEvent("interjection", 2.0, 2.5),
        )
        found = problems([long, inner, later])
        assert "events[0] and events[1]" in found and "events[0] and events[2]" in found

    def test_events_of_different_types_may_overlap_and_adjacent_ones_may_touch(self) -> None:
        repetition = ReviewedEvent("repetition", 0.0, 1.8, subtype="phrase")
        touching = [ReviewedEvent("block", 1.8, 3.0), ReviewedEvent("block", 3.0, 3.5)]
        assert reviewed(SESSION, [repetition, UM, *touching]).metrics.disfluency_count == 4

    def test_a_repetition_needs_its_subtype_and_nothing_else_has_one(self) -> None:
        assert "subtype must be one of" in problems([ReviewedEvent("repetition", 0.0, 0.5)])
        assert "only for repetitions" in problems(
            [ReviewedEvent("block", 1.8, 3.0, subtype="whole_word")]
        )

    @pytest.mark.parametrize(
        ("word", "message"),
        [
            (Word("home", -1.0, 0.5), "must not be negative"),
            (Word("home", 3.5, 3.0), "must not end before it starts"),
            (Word("home", 5.0, 7.0), "past the end of the recording"),
            (Word("  ", 1.0, 1.2), "is empty"),
        ],
    )
    def test_words_with_bad_times_are_refused(self, word: Word, message: str) -> None:
        segment = Segment(0.0, 1.0, "", (Word("I", 0.0, 0.2), word))
        assert message in problems(segments=[segment])

    def test_words_out_of_time_order_are_refused(self) -> None:
        """A segment's span, its subtitle cue and the speech time all read the words in order."""
        swapped = [SESSION[5], *SESSION[1:5], SESSION[0], *SESSION[6:]]
        found = problems(segments=[Segment.from_words(swapped)])
        assert "segments[0].words[1] starts before segments[0].words[0] ends (1.8 s)" in found

    def test_a_word_over_others_is_refused_once_for_each(self) -> None:
        over = [SESSION[0], Word("I", 0.3, 2.0), *SESSION[2:]]
        found = problems(segments=[Segment.from_words(over)])
        assert found.count("starts before segments[0].words[1] ends (2 s)") == 4, found

    def test_words_in_the_next_segment_may_not_start_before_the_last_ends(self) -> None:
        first, second = Segment.from_words(SESSION[:5]), Segment.from_words(SESSION[5:])
        assert review([first, second], [], duration_s=5.0, language="en").metrics.word_count == 8
        longer = Segment.from_words([*SESSION[:4], Word("go", 1.2, 1.6)])
        assert "segments[1].words[0] starts before segments[0].words[4] ends (1.6 s)" in problems(
            segments=[longer, second]
        )

    def test_touching_words_and_times_rounded_to_the_millisecond_are_accepted(self) -> None:
        touching = timed(("so", 0.0, 0.4), ("we", 0.4, 0.6), ("go", 0.5995, 0.9))
        assert reviewed(touching, []).metrics.word_count == 3

    def test_times_within_a_frame_of_the_end_are_accepted(self) -> None:
        words = [*SESSION[:7], Word("today", 3.6, 5.03)]
        assert reviewed(words, [ReviewedEvent("prolongation", 3.6, 5.03)]).metrics

    def test_every_problem_is_named(self) -> None:
        found = problems([ReviewedEvent("block", -1.0, -2.0), ReviewedEvent("stammer", 0, 9)])
        assert found.count(";") >= 3
