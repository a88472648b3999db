"""Subtitle cues: a segment longer than a cue lasts is split between its words."""

from __future__ import annotations

import pytest

from pipelines.exports import MAX_CUE_S, MIN_CUE_S, cues, to_srt, to_vtt
from pipelines.types import Segment, Transcript, Word


def spoken(*words: tuple[str, float, float]) -> Segment:
    return Segment.from_words([Word(w, start, end) for w, start, end in words])


def steady(count: int, *, start: float = 0.0, step: float = 0.4) -> list[tuple[str, float, float]]:
    """``count`` words of ``step`` seconds each, back to back, as whisper times unpunctuated
    speech: no pause between any two."""
    return [(f"w{i}", start + i * step, start + (i + 1) * step) for i in range(count)]


def transcript(*segments: Segment) -> Transcript:
    return Transcript(text="", language="en", backend="local", model="tiny.en").with_segments(
        segments
    )


def words_of(segments: list[Segment]) -> list[Word]:
    return [w for s in segments for w in s.words]


@pytest.mark.parametrize("seconds", [7.2, 12.0, 29.6])
def test_a_long_window_without_sentence_ends_becomes_cues_that_fit(seconds: float) -> None:
    """tiny.en on speech it does not punctuate: a batched window is one segment of up to 30 s
    (measured on ``multilingual.mp3``: one SRT cue from 0 to 29.1 s)."""
    segment = spoken(*steady(round(seconds / 0.4)))
    split = cues(transcript(segment))
    assert len(split) >= 2
    assert all(c.end - c.start <= MAX_CUE_S for c in split)
    assert all(c.end - c.start >= MIN_CUE_S for c in split)
    assert words_of(split) == list(segment.words)  # every word once, in order
    assert all(c.text == " ".join(w.word for w in c.words) for c in split)


def test_the_break_is_at_the_longest_pause() -> None:
    before = steady(10)  # 0-4 s
    after = steady(12, start=4.9)  # 4.9-9.7 s: a 0.9 s pause before it
    split = cues(transcript(spoken(*before, *after)))
    assert [len(c.words) for c in split] == [10, 12]


def test_a_clause_end_wins_over_a_pause_inside_a_clause_as_long() -> None:
    words = steady(20)
    words[6] = ("w6,", words[6][1], words[6][2])
    split = cues(transcript(spoken(*words)))
    assert split[0].words[-1].word == "w6,"


def test_short_segments_and_segments_without_words_are_kept_as_they_are() -> None:
    short = spoken(*steady(10))  # 4 s
    untimed = Segment(start=10.0, end=40.0, text="a window of a backend without word times")
    one_word = spoken(("mmmmm", 50.0, 58.0))
    # Measured on multilingual.mp3: "to" for 0.02 s, then "say..." drawn out over 7.04 s.
    drawn_out = spoken(("to", 52.53, 52.55), ("say...", 52.55, 59.59))
    kept = transcript(short, untimed, one_word, drawn_out)
    assert cues(kept) == [short, untimed, one_word, drawn_out]


def test_subtitle_exports_are_written_from_the_cues() -> None:
    long = transcript(spoken(*steady(50)))  # 20 s
    srt_blocks = to_srt(long).strip().split("\n\n")
    vtt_cues = to_vtt(long).strip().split("\n\n")[1:]
    assert len(srt_blocks) == len(vtt_cues) == len(cues(long)) >= 3
    assert srt_blocks[1].splitlines()[0] == "2"
