"""The disfluency benchmark's scoring (``benchmarks/disfluency_eval.py``) on hand-made events.

The benchmark's numbers are what the detectors are judged by, so its arithmetic must be what a
clinician checking it by hand would get: an event counts as found once, only near its truth and
only as its own type.
"""

from __future__ import annotations

import pytest

from benchmarks.disfluency_eval import (
    MISSED,
    SPURIOUS,
    ClipResult,
    Event,
    evaluate,
    false_events_per_100_syllables,
    in_session,
    match_events,
    percent_ss_errors,
)


def event(kind: str, start: float, end: float, subtype: str | None = None) -> Event:
    return Event(type=kind, start=start, end=end, subtype=subtype)


def clip(
    name: str,
    truth: list[Event],
    detected: list[Event],
    *,
    truth_ss: float = 0.0,
    detected_ss: float = 0.0,
    syllables: int = 20,
) -> ClipResult:
    return ClipResult(
        name=name,
        truth=tuple(truth),
        detected=tuple(detected),
        truth_percent_ss=truth_ss,
        detected_percent_ss=detected_ss,
        syllables=syllables,
    )


class TestMatching:
    def test_overlapping_events_of_the_same_type_match(self) -> None:
        assert match_events([event("block", 1.0, 2.0)], [event("block", 1.5, 2.5)]) == [(0, 0)]

    def test_events_within_the_tolerance_match_and_beyond_it_do_not(self) -> None:
        truth = [event("interjection", 1.0, 1.4)]
        assert match_events(truth, [event("interjection", 1.85, 2.0)]) == [(0, 0)]
        assert match_events(truth, [event("interjection", 1.95, 2.1)]) == []
        assert match_events(truth, [event("interjection", 1.95, 2.1)], tolerance_s=0.6) == [(0, 0)]

    def test_a_different_type_at_the_same_time_is_not_found(self) -> None:
        assert match_events([event("prolongation", 1.0, 2.0)], [event("block", 1.0, 2.0)]) == []

    def test_repetition_subtypes_must_agree_when_both_are_given(self) -> None:
        truth = [event("repetition", 1.0, 2.0, "whole_word")]
        assert match_events(truth, [event("repetition", 1.0, 2.0, "part_word")]) == []
        assert match_events(truth, [event("repetition", 1.0, 2.0, "whole_word")]) == [(0, 0)]
        assert match_events(truth, [event("repetition", 1.0, 2.0)]) == [(0, 0)]

    def test_each_event_is_used_once_and_the_closest_pair_wins(self) -> None:
        truth = [event("interjection", 1.0, 1.3), event("interjection", 2.0, 2.3)]
        detected = [event("interjection", 1.9, 2.2)]
        assert match_events(truth, detected) == [(1, 0)]
        twice = [event("interjection", 1.0, 1.3), event("interjection", 1.1, 1.4)]
        assert match_events([event("interjection", 1.0, 1.3)], twice) == [(0, 0)]

    def test_untyped_matching_pairs_by_time_alone(self) -> None:
        pairs = match_events(
            [event("prolongation", 1.0, 2.0)], [event("interjection", 1.2, 1.5)], by_type=False
        )
        assert pairs == [(0, 0)]


class TestPrecisionAndRecall:
    def test_per_type_counts_precision_and_recall(self) -> None:
        clips = [
            clip(
                "a",
                [event("interjection", 0.5, 0.9), event("repetition", 2.0, 3.0, "whole_word")],
                [event("interjection", 0.5, 1.0), event("interjection", 4.0, 4.3)],
            ),
            clip(
                "b",
                [event("interjection", 1.0, 1.5), event("block", 3.0, 4.5)],
                [event("interjection", 1.1, 1.4), event("block", 3.1, 4.4)],
            ),
        ]
        result = evaluate(clips)
        interjection = result.labels["interjection"]
        assert (interjection.truth, interjection.detected, interjection.found) == (2, 3, 2)
        assert interjection.recall == 1.0
        assert interjection.precision == pytest.approx(2 / 3)
        whole_word = result.labels["repetition:whole_word"]
        assert (whole_word.recall, whole_word.precision) == (0.0, None)
        assert result.labels["block"].recall == result.labels["block"].precision == 1.0
        assert (result.total.truth, result.total.detected, result.total.found) == (4, 4, 3)
        assert result.to_dict()["overall"] == {
            "truth": 4,
            "detected": 4,
            "found": 3,
            "precision": 0.75,
            "recall": 0.75,
        }

    def test_a_type_nobody_labelled_still_counts_against_precision(self) -> None:
        result = evaluate([clip("a", [], [event("repetition", 1.0, 2.0)])])
        assert result.labels["repetition"].detected == 1
        assert result.labels["repetition"].precision == 0.0
        assert result.total.precision == 0.0


class TestConfusion:
    def test_found_relabelled_missed_and_spurious(self) -> None:
        truth = [
            event("interjection", 0.5, 0.9),
            event("prolongation", 2.0, 3.0),
            event("revision", 5.0, 6.0),
        ]
        detected = [
            event("interjection", 0.5, 0.8),
            event("interjection", 2.1, 2.4),  # the prolongation, heard as a filler
            event("block", 8.0, 9.5),
        ]
        result = evaluate([clip("a", truth, detected)])
        assert result.confusion == {
            "interjection": {"interjection": 1},
            "prolongation": {"interjection": 1},
            "revision": {MISSED: 1},
            SPURIOUS: {"block": 1},
        }
        score = result.scores["a"]
        assert (score.matched, score.relabelled) == (((0, 0),), ((1, 1),))
        assert (score.missed, score.spurious) == ((2,), (2,))
        assert result.labels["interjection"].precision == 0.5


class TestClipMeasures:
    def test_false_events_per_100_syllables_count_only_fluent_controls(self) -> None:
        clips = [
            clip("control-1", [], [event("block", 1.0, 2.0)], syllables=30),
            clip("control-2", [], [], syllables=20),
            clip("disfluent", [event("block", 1.0, 2.0)], [event("block", 5.0, 6.0)]),
        ]
        assert false_events_per_100_syllables(clips) == pytest.approx(2.0)
        assert evaluate(clips).control_clips == 2
        assert false_events_per_100_syllables(clips[2:]) is None

    def test_percent_ss_error_is_absolute_per_clip(self) -> None:
        clips = [
            clip("over", [], [], truth_ss=5.0, detected_ss=7.5),
            clip("under", [], [], truth_ss=10.0, detected_ss=4.0),
            clip("exact", [], [], truth_ss=3.0, detected_ss=3.0),
        ]
        assert percent_ss_errors(clips) == {"over": 2.5, "under": 6.0, "exact": 0.0}
        summary = evaluate(clips).percent_ss_summary()
        assert summary["mean_abs_error"] == pytest.approx(8.5 / 3, abs=1e-3)
        assert summary["median_abs_error"] == 2.5
        assert summary["max_abs_error"] == 6.0
        assert (summary["within_goal"], summary["clips"]) == (1, 3)

    def test_a_clip_without_its_own_percent_ss_is_left_out_of_the_errors(self) -> None:
        clips = [
            clip("counted", [], [], truth_ss=5.0, detected_ss=7.5),
            ClipResult("in a session", (), (), 4.0, None, 20),
        ]
        assert percent_ss_errors(clips) == {"counted": 2.5}
        assert evaluate(clips[1:]).percent_ss_summary() == {}

    def test_events_read_from_truth_and_platform_dicts(self) -> None:
        truth = Event.from_dict(
            {
                "type": "repetition",
                "subtype": "part_word",
                "text": "buh buh brother",
                "start": 1.0,
                "end": 2.0,
                "stuttering_like": True,
            }
        )
        platform = Event.from_dict(
            {
                "type": "block",
                "subtype": None,
                "text": "library",
                "start": 1,
                "end": 2.5,
                "stuttering_like": True,
            }
        )
        assert truth.label == "repetition:part_word"
        assert (platform.label, platform.start, platform.end) == ("block", 1.0, 2.5)


class TestSession:
    """Clips laid end to end as one recording: each event goes back to its clip, in its time."""

    CLIPS = ((0.0, 4.0), (5.0, 3.0), (9.0, 6.0))  # 1 s of silence between them
    GAP_S = 1.0

    def test_each_event_goes_to_the_clip_it_lies_in_shifted_to_its_time(self) -> None:
        events = [
            {"type": "block", "start": 1.0, "end": 2.0},
            {"type": "interjection", "start": 5.5, "end": 5.9, "text": "um"},
            {"type": "prolongation", "start": 14.0, "end": 14.8},
        ]
        dealt = in_session(events, self.CLIPS, self.GAP_S)
        assert [len(events) for events in dealt] == [1, 1, 1]
        assert dealt[1][0] == {
            "type": "interjection",
            "start": 0.5,
            "end": pytest.approx(0.9),
            "text": "um",
        }
        assert (dealt[2][0]["start"], dealt[2][0]["end"]) == pytest.approx((5.0, 5.8))

    def test_an_event_across_a_join_goes_where_its_middle_is(self) -> None:
        # A silence read as a block from 3.6 to 5.2 s: its middle, 4.4 s, is in the first
        # clip's half of the gap, so it counts against that clip (a false event there).
        dealt = in_session([{"type": "block", "start": 3.6, "end": 5.2}], self.CLIPS, self.GAP_S)
        assert dealt[0] == [{"type": "block", "start": 3.6, "end": pytest.approx(5.2)}]
        assert dealt[1] == dealt[2] == []
        late = in_session([{"type": "block", "start": 4.4, "end": 5.6}], self.CLIPS, self.GAP_S)
        assert late[1] == [
            {"type": "block", "start": pytest.approx(-0.6), "end": pytest.approx(0.6)}
        ]

    def test_an_event_past_every_clip_is_left_out(self) -> None:
        dealt = in_session([{"type": "block", "start": 20.0, "end": 21.0}], self.CLIPS, self.GAP_S)
        assert dealt == [[], [], []]
