"""Scoring detected disfluency events against labelled truth: pure functions, no model.

An event is *found* when a detected event of the same type (and the same repetition subtype,
where both give one) overlaps it in time, widened by a tolerance on each side; each truth event
and each detected event is used at most once, closest pairs first. Precision is per detected
label, recall per truth label. The confusion table pairs what is left over by time alone, so a
prolongation reported as an interjection shows up as exactly that.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TOLERANCE_S = 0.5
PERCENT_SS_GOAL = 1.5
"""Issue 11: %SS within ±1.5 points of the truth per clip."""
MISSED = "missed"
"""Confusion column of truth events nothing was detected near."""
SPURIOUS = "spurious"
"""Confusion row of detected events near no truth event."""
LABELS = (
    "interjection",
    "repetition:whole_word",
    "repetition:part_word",
    "repetition:phrase",
    "prolongation",
    "block",
    "revision",
)
"""The corpus's labels, in table order; a repetition without a subtype is "repetition"."""


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    start: float
    end: float
    subtype: str | None = None
    text: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """From a truth entry or the platform's ``metrics.disfluencies`` item."""
        return cls(
            type=data["type"],
            start=float(data["start"]),
            end=float(data["end"]),
            subtype=data.get("subtype"),
            text=data.get("text") or "",
        )

    @property
    def label(self) -> str:
        return f"{self.type}:{self.subtype}" if self.subtype else self.type


def same_kind(truth: Event, detected: Event) -> bool:
    """Same type; for repetitions also the same subtype unless either leaves it out."""
    if truth.type != detected.type:
        return False
    return truth.subtype is None or detected.subtype is None or truth.subtype == detected.subtype


def time_gap(a: Event, b: Event) -> float:
    """Seconds between two events' spans; 0 when they overlap."""
    return max(0.0, max(a.start, b.start) - min(a.end, b.end))


def match_events(
    truth: Sequence[Event],
    detected: Sequence[Event],
    *,
    tolerance_s: float = TOLERANCE_S,
    by_type: bool = True,
) -> list[tuple[int, int]]:
    """One-to-one pairs ``(truth index, detected index)``, greedy: pairs within
    ``tolerance_s`` of each other, closest first (gap, then distance between centres)."""
    candidates = sorted(
        (time_gap(t, d), abs((t.start + t.end) - (d.start + d.end)) / 2, i, j)
        for i, t in enumerate(truth)
        for j, d in enumerate(detected)
        if time_gap(t, d) <= tolerance_s and (not by_type or same_kind(t, d))
    )
    used_truth: set[int] = set()
    used_detected: set[int] = set()
    pairs = []
    for _, _, i, j in candidates:
        if i not in used_truth and j not in used_detected:
            pairs.append((i, j))
            used_truth.add(i)
            used_detected.add(j)
    return sorted(pairs)


@dataclass(frozen=True, slots=True)
class ClipResult:
    """One clip's truth and what the platform reported for it."""

    name: str
    truth: tuple[Event, ...]
    detected: tuple[Event, ...]
    truth_percent_ss: float
    detected_percent_ss: float | None
    """None where the platform counted no %SS for the clip alone (``--session``)."""
    syllables: int
    """True syllable count (the %SS denominator), for false events per 100 syllables."""

    @property
    def control(self) -> bool:
        """A fluent control: nothing to find."""
        return not self.truth

    @classmethod
    def from_run(cls, entry: Mapping[str, Any], metrics: Mapping[str, Any]) -> ClipResult:
        """From a clip's ``truth.json`` entry and the platform's metrics for it."""
        return cls.of(
            entry,
            metrics["disfluencies"],
            percent_ss=metrics["percent_syllables_stuttered"],
        )

    @classmethod
    def of(
        cls,
        entry: Mapping[str, Any],
        detected: Iterable[Mapping[str, Any]],
        *,
        percent_ss: float | None,
    ) -> ClipResult:
        """From a clip's ``truth.json`` entry, the events the platform reported in it and
        its %SS for the clip (None when it counted none for the clip alone)."""
        return cls(
            name=entry["file"],
            truth=tuple(Event.from_dict(e) for e in entry["events"]),
            detected=tuple(Event.from_dict(e) for e in detected),
            truth_percent_ss=entry["percent_ss"],
            detected_percent_ss=percent_ss,
            syllables=entry["syllables"],
        )


@dataclass(frozen=True, slots=True)
class ClipScore:
    matched: tuple[tuple[int, int], ...]
    """Found: same kind, close in time."""
    relabelled: tuple[tuple[int, int], ...]
    """Close in time, different kind (among events not already matched)."""
    missed: tuple[int, ...]
    """Truth events with nothing detected near them."""
    spurious: tuple[int, ...]
    """Detected events near no truth event."""


def score_clip(clip: ClipResult, tolerance_s: float = TOLERANCE_S) -> ClipScore:
    matched = match_events(clip.truth, clip.detected, tolerance_s=tolerance_s)
    left_truth = [i for i in range(len(clip.truth)) if i not in {i for i, _ in matched}]
    left_detected = [j for j in range(len(clip.detected)) if j not in {j for _, j in matched}]
    relabelled = [
        (left_truth[i], left_detected[j])
        for i, j in match_events(
            [clip.truth[i] for i in left_truth],
            [clip.detected[j] for j in left_detected],
            tolerance_s=tolerance_s,
            by_type=False,
        )
    ]
    return ClipScore(
        matched=tuple(matched),
        relabelled=tuple(relabelled),
        missed=tuple(i for i in left_truth if i not in {i for i, _ in relabelled}),
        spurious=tuple(j for j in left_detected if j not in {j for _, j in relabelled}),
    )


@dataclass(slots=True)
class TypeScore:
    truth: int = 0
    detected: int = 0
    found: int = 0
    """Truth events of this label that were matched."""
    correct: int = 0
    """Detected events of this label that were matched."""

    @property
    def precision(self) -> float | None:
        return self.correct / self.detected if self.detected else None

    @property
    def recall(self) -> float | None:
        return self.found / self.truth if self.truth else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "truth": self.truth,
            "detected": self.detected,
            "found": self.found,
            "precision": _rounded(self.precision),
            "recall": _rounded(self.recall),
        }


def per_label(clips: Iterable[tuple[ClipResult, ClipScore]]) -> dict[str, TypeScore]:
    """Counts and precision/recall per label; the corpus's labels first, in table order."""
    scores: dict[str, TypeScore] = {label: TypeScore() for label in LABELS}
    for clip, score in clips:
        for event in clip.truth:
            scores.setdefault(event.label, TypeScore()).truth += 1
        for event in clip.detected:
            scores.setdefault(event.label, TypeScore()).detected += 1
        for i, j in score.matched:
            scores[clip.truth[i].label].found += 1
            scores[clip.detected[j].label].correct += 1
    return scores


def overall(scores: Mapping[str, TypeScore]) -> TypeScore:
    total = TypeScore()
    for score in scores.values():
        total.truth += score.truth
        total.detected += score.detected
        total.found += score.found
        total.correct += score.correct
    return total


def confusion(clips: Iterable[tuple[ClipResult, ClipScore]]) -> dict[str, dict[str, int]]:
    """``table[truth label][detected label]``: matched and relabelled pairs, with truth events
    nothing was near under ``MISSED`` and detected events near no truth under ``SPURIOUS``."""
    table: dict[str, Counter[str]] = {}
    for clip, score in clips:
        for i, j in score.matched + score.relabelled:
            table.setdefault(clip.truth[i].label, Counter())[clip.detected[j].label] += 1
        for i in score.missed:
            table.setdefault(clip.truth[i].label, Counter())[MISSED] += 1
        for j in score.spurious:
            table.setdefault(SPURIOUS, Counter())[clip.detected[j].label] += 1
    order = {label: k for k, label in enumerate((*LABELS, SPURIOUS))}
    return {
        row: dict(sorted(table[row].items()))
        for row in sorted(table, key=lambda r: (order.get(r, len(order)), r))
    }


def false_events_per_100_syllables(clips: Iterable[ClipResult]) -> float | None:
    """Detected events on fluent controls per 100 of their syllables; None without controls."""
    controls = [c for c in clips if c.control]
    syllables = sum(c.syllables for c in controls)
    if not syllables:
        return None
    return 100 * sum(len(c.detected) for c in controls) / syllables


def percent_ss_errors(clips: Iterable[ClipResult]) -> dict[str, float]:
    """Absolute %SS error per clip (detected minus truth, in points), by clip name; clips
    without a %SS of their own are left out."""
    return {
        c.name: abs(c.detected_percent_ss - c.truth_percent_ss)
        for c in clips
        if c.detected_percent_ss is not None
    }


def clip_at(at: float, clips: Sequence[tuple[float, float]], gap_s: float) -> int | None:
    """Which of ``clips`` (each one's start and length in a recording of clips laid end to end,
    ``gap_s`` of silence between) holds the time ``at``, each clip's span widened by half the
    gap either side; None past every clip."""
    for k, (start, length) in enumerate(clips):
        if start - gap_s / 2 <= at < start + length + gap_s / 2:
            return k
    return None


def in_session(
    events: Iterable[Mapping[str, Any]], clips: Sequence[tuple[float, float]], gap_s: float
) -> list[list[dict[str, Any]]]:
    """``events`` of one recording made of clips laid end to end, dealt to the clip that holds
    each event's middle (``clip_at``), in that clip's time. Events outside every clip (none,
    when the gaps are as given) are left out."""
    dealt: list[list[dict[str, Any]]] = [[] for _ in clips]
    for event in events:
        start, end = float(event["start"]), float(event["end"])
        k = clip_at((start + end) / 2, clips, gap_s)
        if k is not None:
            offset = clips[k][0]
            dealt[k].append({**event, "start": start - offset, "end": end - offset})
    return dealt


def pooled_percent_ss(entries: Iterable[Mapping[str, Any]]) -> float | None:
    """%SS of truth entries taken together: their stuttered syllables over their syllables."""
    listed = list(entries)
    syllables = sum(e["syllables"] for e in listed)
    stuttered = sum(e["stuttered_syllables"] for e in listed)
    return 100 * stuttered / syllables if syllables else None


@dataclass(frozen=True, slots=True)
class Evaluation:
    labels: dict[str, TypeScore]
    total: TypeScore
    confusion: dict[str, dict[str, int]]
    false_events_per_100_syllables: float | None
    control_clips: int
    percent_ss_error: dict[str, float]
    scores: dict[str, ClipScore] = field(default_factory=dict)

    def percent_ss_summary(self, goal: float = PERCENT_SS_GOAL) -> dict[str, Any]:
        errors = list(self.percent_ss_error.values())
        if not errors:
            return {}
        return {
            "mean_abs_error": _rounded(statistics.fmean(errors)),
            "median_abs_error": _rounded(statistics.median(errors)),
            "max_abs_error": _rounded(max(errors)),
            "within_goal": sum(e <= goal for e in errors),
            "clips": len(errors),
            "goal_points": goal,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_type": {label: score.to_dict() for label, score in self.labels.items()},
            "overall": self.total.to_dict(),
            "confusion": self.confusion,
            "controls": {
                "clips": self.control_clips,
                "false_events_per_100_syllables": _rounded(self.false_events_per_100_syllables),
            },
            "percent_ss": self.percent_ss_summary(),
        }


def evaluate(clips: Sequence[ClipResult], tolerance_s: float = TOLERANCE_S) -> Evaluation:
    scored = [(clip, score_clip(clip, tolerance_s)) for clip in clips]
    labels = per_label(scored)
    return Evaluation(
        labels=labels,
        total=overall(labels),
        confusion=confusion(scored),
        false_events_per_100_syllables=false_events_per_100_syllables(clips),
        control_clips=sum(c.control for c in clips),
        percent_ss_error=percent_ss_errors(clips),
        scores={clip.name: score for clip, score in scored},
    )


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
