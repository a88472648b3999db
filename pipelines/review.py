"""A clinician's review of a recording's annotation: its words and disfluency events.

Automatic detection is a draft (``pipelines.metrics.compute_metrics``); the clinician adds,
removes, relabels and re-times events and corrects words, and every number is recomputed from
what they confirmed (``metrics.count_events``, the same counting as detection's). Pure: the
API stores what ``review`` returns as a new annotation version.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, get_args

from pipelines.metrics import (
    DISFLUENCY_TYPES,
    DisfluencyEvent,
    Evidence,
    FluencyMetrics,
    MetricsSettings,
    RepetitionKind,
    count_events,
)
from pipelines.types import Segment, Span

END_SLACK_S = 0.05
"""How far past the recording's duration a time may lie: a container's stated duration and its
decoded length differ by up to a frame."""
ORDER_SLACK_S = 0.001
"""How far a word may start before the word before it ends: times rounded to the millisecond."""
MAX_PROBLEMS_LISTED = 10
"""An annotation with more problems than this names only the first ones."""

_REPETITION_KINDS: tuple[str, ...] = get_args(RepetitionKind)
_EVIDENCE: tuple[str, ...] = get_args(Evidence)


@dataclass(frozen=True, slots=True)
class ReviewedEvent:
    """One event as the clinician left it. ``to_review`` events are listed, not counted."""

    type: str
    start: float
    end: float
    text: str = ""
    """The words it covers; empty to take them from the words in its span."""
    subtype: str | None = None
    """For repetitions (required there): part_word, whole_word or phrase."""
    to_review: bool = False
    confidence: float | None = None
    """The detector's, kept from the automatic version; None for an event the clinician added."""
    evidence: tuple[str, ...] = ()
    """What the detector found it in; empty for an event the clinician added."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReviewedEvent:
        """An event as an annotation stores it (``DisfluencyEvent.to_dict`` plus ``to_review``)."""
        return cls(
            type=data["type"],
            start=data["start"],
            end=data["end"],
            text=data.get("text") or "",
            subtype=data.get("subtype"),
            to_review=bool(data.get("to_review", False)),
            confidence=data.get("confidence"),
            evidence=tuple(data.get("evidence") or ()),
        )


class InvalidAnnotation(ValueError):
    """What is wrong with a reviewed annotation, one sentence per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        listed = "; ".join(self.problems[:MAX_PROBLEMS_LISTED])
        more = len(self.problems) - MAX_PROBLEMS_LISTED
        super().__init__(listed + (f"; and {more} more" if more > 0 else ""))


@dataclass(frozen=True, slots=True)
class Review:
    """A checked annotation: its segments (texts rebuilt from their words), its events as
    stored, and the metrics computed from them."""

    segments: tuple[Segment, ...]
    events: tuple[dict[str, Any], ...]
    metrics: FluencyMetrics


def review(
    segments: Sequence[Segment],
    events: Sequence[ReviewedEvent],
    *,
    duration_s: float,
    limit_s: float | None = None,
    language: str,
    settings: MetricsSettings | None = None,
    untranscribed: Sequence[Span] = (),
) -> Review:
    """Check the annotation and compute its metrics; raises ``InvalidAnnotation``.

    ``duration_s`` is what the metrics state as the recording's duration; no time may lie past
    ``limit_s`` (``duration_s`` unless given) by more than ``END_SLACK_S``. A segment with
    words takes its text from them, so a corrected word corrects the text, and keeps its span,
    widened to cover them (``_covering``): a review that changes nothing changes no subtitle.
    ``untranscribed`` is the automatic analysis's voiced audio without words (the transcript's
    ``coverage.unrecovered``); words the clinician wrote there take it out.
    """
    limit = (duration_s if limit_s is None else limit_s) + END_SLACK_S
    problems = [*_segment_problems(segments, limit), *_event_problems(events, limit)]
    if problems:
        raise InvalidAnnotation(problems)
    checked = tuple(_covering(s) if s.words else s for s in segments)
    words = [w for s in checked for w in s.words]
    metrics = count_events(
        words,
        [_event(e) for e in events if not e.to_review],
        duration_s,
        settings,
        to_review=[_event(e) for e in events if e.to_review],
        language=language,
        untranscribed=untranscribed,
    )
    stored = [{**e.to_dict(), "to_review": False} for e in metrics.disfluencies]
    stored += [{**e.to_dict(), "to_review": True} for e in metrics.to_review]
    stored.sort(key=lambda e: (e["start"], e["end"]))
    return Review(segments=checked, events=tuple(stored), metrics=metrics)


def _covering(segment: Segment) -> Segment:
    """``segment`` with its words' text and its span widened to cover them. Whisper's segment
    starts where its window's speech does, often before the first word's time (0.0 against
    0.32 s on JFK): rebuilt from the words alone, an unchanged review moved every subtitle cue."""
    words = Segment.from_words(segment.words)
    return replace(words, start=min(segment.start, words.start), end=max(segment.end, words.end))


def _event(event: ReviewedEvent) -> DisfluencyEvent:
    # Checked by _event_problems: the strings are the literals' values.
    return DisfluencyEvent(
        type=event.type,  # type: ignore[arg-type]
        text=event.text.strip(),
        start=event.start,
        end=event.end,
        subtype=event.subtype,  # type: ignore[arg-type]
        confidence=1.0 if event.confidence is None else event.confidence,
        evidence=event.evidence or ("clinician",),  # type: ignore[arg-type]
    )


def _segment_problems(segments: Sequence[Segment], limit: float) -> list[str]:
    problems: list[str] = []
    for i, segment in enumerate(segments):
        where = f"segments[{i}]"
        problems += _span_problems(where, segment.start, segment.end, limit)
        if not segment.words and not segment.text.strip():
            problems.append(f"{where} has neither words nor text")
        for j, word in enumerate(segment.words):
            at = f"{where}.words[{j}]"
            if not word.word.strip():
                problems.append(f"{at} is empty")
            problems += _span_problems(at, word.start, word.end, limit)
            if not 0.0 <= word.probability <= 1.0:
                problems.append(f"{at}.probability must lie between 0 and 1")
    return problems + _order_problems(segments)


def _order_problems(segments: Sequence[Segment]) -> list[str]:
    """The words, from segment to segment, are in time order and do not overlap: a segment's
    span covers its first word to its last (``_covering``), the subtitles are its words in that
    order, and speech time is the words' time added up."""
    problems: list[str] = []
    latest: tuple[str, float] | None = None  # the word seen so far that ends last
    for i, segment in enumerate(segments):
        for j, word in enumerate(segment.words):
            at = f"segments[{i}].words[{j}]"
            if latest is not None and word.start < latest[1] - ORDER_SLACK_S:
                problems.append(
                    f"{at} starts before {latest[0]} ends ({latest[1]:g} s): words must be in "
                    "time order and not overlap"
                )
            if latest is None or word.end > latest[1]:
                latest = (at, word.end)
    return problems


def _event_problems(events: Sequence[ReviewedEvent], limit: float) -> list[str]:
    problems: list[str] = []
    for i, event in enumerate(events):
        where = f"events[{i}]"
        if event.type not in DISFLUENCY_TYPES:
            problems.append(f"{where}.type must be one of: {', '.join(DISFLUENCY_TYPES)}")
        if event.type == "repetition" and event.subtype not in _REPETITION_KINDS:
            problems.append(
                f"{where} is a repetition: its subtype must be one of: "
                + ", ".join(_REPETITION_KINDS)
            )
        if event.type != "repetition" and event.subtype is not None:
            problems.append(f"{where}.subtype is only for repetitions")
        if event.confidence is not None and not 0.0 <= event.confidence <= 1.0:
            problems.append(f"{where}.confidence must lie between 0 and 1")
        if any(e not in _EVIDENCE for e in event.evidence):
            problems.append(f"{where}.evidence must be among: {', '.join(_EVIDENCE)}")
        problems += _span_problems(where, event.start, event.end, limit)
    problems += _overlaps(events)
    return problems


def _span_problems(where: str, start: float, end: float, limit: float) -> list[str]:
    if not (math.isfinite(start) and math.isfinite(end)):
        return [f"{where} needs finite times"]
    problems = []
    if start < 0:
        problems.append(f"{where}.start must not be negative")
    # Equal times are allowed: words and the events on them may be points, where word-time
    # trimming left a word no length (the automatic analysis then has such events too).
    if end < start:
        problems.append(f"{where} must not end before it starts")
    if end > limit:
        problems.append(f"{where} ends past the end of the recording ({limit - END_SLACK_S:g} s)")
    return problems


def _overlaps(events: Sequence[ReviewedEvent]) -> list[str]:
    """Two events of one type may not overlap: one disfluency is one event. Events of different
    types may (the interjection inside "my, um, my" is an event of its own)."""
    problems = []
    furthest: dict[str, int] = {}  # per type, the event seen so far that ends last
    for i in sorted(range(len(events)), key=lambda i: events[i].start):
        event = events[i]
        earlier = furthest.get(event.type)
        if earlier is not None and event.start < events[earlier].end:
            problems.append(f"events[{earlier}] and events[{i}] are both {event.type}s and overlap")
        if earlier is None or event.end > events[earlier].end:
            furthest[event.type] = i
    return problems
