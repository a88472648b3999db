"""Transcript exports: plain text, SubRip and WebVTT from the merged segments, as cues."""

from __future__ import annotations

from pipelines.types import Segment, Transcript

MAX_CUE_S = 7.0
"""The longest a subtitle cue lasts (the common broadcast guideline). A segment is a sentence
where whisper wrote sentence ends, but a batched window of speech it did not punctuate (tiny.en
on other languages, a run-on sentence) is one segment of up to 30 s: split into cues."""
_CLAUSE_END = (",", ";", ":", "\u2014", "\u2013")
"""A break after a word ending in one of these is preferred to one between two words of a
clause with the same pause."""
_CLAUSE_BONUS_S = 0.2
"""How much longer a pause a break inside a clause needs to win over one at a clause end."""
MIN_CUE_S = 1.0
"""A break leaves at least this much on either side: a segment that cannot be split so (one
word whisper drew out over 7 s, "to" beside it) stays whole."""


def cues(transcript: Transcript) -> list[Segment]:
    """The transcript's segments, those longer than ``MAX_CUE_S`` split between their words:
    at the longest pause that leaves ``MIN_CUE_S`` either side, a clause end counting
    ``_CLAUSE_BONUS_S`` more, the nearer the middle on a tie; again until every piece fits or
    has no such break."""
    return [cue for segment in transcript.segments for cue in _split(segment)]


def _split(segment: Segment) -> list[Segment]:
    words = segment.words
    if segment.end - segment.start <= MAX_CUE_S or len(words) < 2:
        return [segment]
    middle = (segment.start + segment.end) / 2

    def score(i: int) -> tuple[float, float]:
        left, right = words[i - 1], words[i]
        pause = right.start - left.end
        bonus = _CLAUSE_BONUS_S if left.word.endswith(_CLAUSE_END) else 0.0
        return round(pause + bonus, 3), -abs(left.end - middle)

    breaks = [
        i
        for i in range(1, len(words))
        if min(words[i - 1].end - segment.start, segment.end - words[i].start) >= MIN_CUE_S
    ]
    if not breaks:
        return [segment]  # one word whisper drew out, or a sliver beside it: no shorter cue
    at = max(breaks, key=score)
    return [*_split(Segment.from_words(words[:at])), *_split(Segment.from_words(words[at:]))]


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_txt(transcript: Transcript) -> str:
    return transcript.text.strip() + "\n"


def to_srt(transcript: Transcript) -> str:
    blocks = []
    for index, segment in enumerate(cues(transcript), start=1):
        span = f"{_timestamp(segment.start, ',')} --> {_timestamp(segment.end, ',')}"
        blocks.append(f"{index}\n{span}\n{segment.text.strip()}\n")
    return "\n".join(blocks)


def to_vtt(transcript: Transcript) -> str:
    written = [
        f"{_timestamp(s.start, '.')} --> {_timestamp(s.end, '.')}\n{s.text.strip()}\n"
        for s in cues(transcript)
    ]
    return "WEBVTT\n\n" + "\n".join(written)
