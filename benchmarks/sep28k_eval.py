"""Scoring for ``sep28k.py``: the platform's events on SEP-28k's clips against its annotators.

SEP-28k (Lea et al., ICASSP 2021, https://github.com/apple/ml-stuttering-events-dataset) labels
3-second clips of podcasts about stuttering. Three annotators each mark the types of
disfluency they hear in a clip, with no times: a clip's label is a vote count per type, 0-3.
So the score is clip by clip. A type is in a clip when at least ``min_votes`` annotators heard
it, and not in it when none did; one heard by fewer than ``min_votes`` but more than none is
unsure, and a detection there counts neither way. Clips most annotators found poor, music, no
speech or hard to understand are left out.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TYPES: Mapping[str, frozenset[str]] = {
    "Prolongation": frozenset({"prolongation"}),
    "Block": frozenset({"block"}),
    "SoundRep": frozenset({"repetition:part_word"}),
    "WordRep": frozenset({"repetition:whole_word", "repetition:phrase"}),
    "Interjection": frozenset({"interjection"}),
}
"""SEP-28k's types and the platform's events (type, or type:subtype) each one names. WordRep is
"the same word said again", which the platform calls whole-word, or phrase for a few words."""

LEFT_OUT = ("PoorAudioQuality", "Music", "NoSpeech", "DifficultToUnderstand")
"""Votes that leave a clip out of the score: nothing in it can be heard for sure."""
FLUENT = "NoStutteredWords"


@dataclass(frozen=True, slots=True)
class Clip:
    """One row of a SEP-28k labels file."""

    name: str
    """``<Show>_<EpId>_<ClipId>``, as SEP-28k's ``extract_clips.py`` names the clip's wav."""
    votes: Mapping[str, int]

    def heard(self, kind: str, min_votes: int) -> bool | None:
        """True where at least ``min_votes`` annotators marked ``kind``, False where none did,
        None (unsure) between."""
        votes = self.votes.get(kind, 0)
        return True if votes >= min_votes else False if votes == 0 else None

    def left_out(self, min_votes: int) -> bool:
        return any(self.votes.get(k, 0) >= min_votes for k in LEFT_OUT)

    def fluent(self, min_votes: int) -> bool:
        """Most annotators heard no stuttered word, and none marked any type."""
        return self.votes.get(FLUENT, 0) >= min_votes and not any(
            self.votes.get(kind, 0) for kind in TYPES
        )


def read_labels(path: Path) -> list[Clip]:
    """The clips of a SEP-28k labels CSV (``SEP-28k_labels.csv``, ``fluencybank_labels.csv``, or
    any file with their columns ``Show``, ``EpId``, ``ClipId`` and one per vote)."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    votes = (*TYPES, *LEFT_OUT, FLUENT)
    missing = [c for c in ("Show", "EpId", "ClipId", *votes) if rows and c not in rows[0]]
    if missing:
        raise ValueError(f"{path}: not a SEP-28k labels file, no column(s) {', '.join(missing)}")
    return [
        Clip(
            name=f"{row['Show'].strip()}_{row['EpId'].strip()}_{row['ClipId'].strip()}",
            votes={k: int(row[k] or 0) for k in votes},
        )
        for row in rows
    ]


def event_kind(event: Mapping[str, Any]) -> str:
    """An event of the platform's metrics as ``TYPES`` names it: ``type`` or ``type:subtype``."""
    subtype = event.get("subtype")
    return f"{event['type']}:{subtype}" if subtype else str(event["type"])


def sep28k_type(event: Mapping[str, Any]) -> str | None:
    """The SEP-28k type (``TYPES``) an event of the platform's metrics is, if any."""
    kind = event_kind(event)
    return next((name for name, kinds in TYPES.items() if kind in kinds), None)


@dataclass(slots=True)
class TypeScore:
    labelled: int = 0
    """Clips the type is in."""
    detected: int = 0
    """Clips the platform counted an event of the type in, unsure ones left out."""
    found: int = 0
    """Clips the type is in and the platform counted it."""

    @property
    def recall(self) -> float | None:
        return self.found / self.labelled if self.labelled else None

    @property
    def precision(self) -> float | None:
        return self.found / self.detected if self.detected else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "labelled": self.labelled,
            "detected": self.detected,
            "found": self.found,
            "precision": _rounded(self.precision),
            "recall": _rounded(self.recall),
        }


@dataclass(slots=True)
class Score:
    types: dict[str, TypeScore] = field(default_factory=lambda: {k: TypeScore() for k in TYPES})
    scored: int = 0
    left_out: int = 0
    fluent_clips: int = 0
    fluent_clips_with_events: int = 0
    fluent_events: int = 0
    fluent_syllables: int = 0

    def as_dict(self) -> dict[str, Any]:
        per_100 = (
            100 * self.fluent_events / self.fluent_syllables if self.fluent_syllables else None
        )
        return {
            "clips_scored": self.scored,
            "clips_left_out": self.left_out,
            "per_type": {k: s.as_dict() for k, s in self.types.items()},
            "fluent": {
                "clips": self.fluent_clips,
                "clips_with_events": self.fluent_clips_with_events,
                "events_per_100_syllables": _rounded(per_100),
            },
        }


def score(
    runs: Iterable[tuple[Clip, Sequence[Mapping[str, Any]], int]], min_votes: int = 2
) -> Score:
    """Clip by clip: each clip, the events the platform counted in it (its metrics'
    ``disfluencies``; those listed to review are not counted) and the syllables it counted."""
    total = Score()
    for clip, events, syllables in runs:
        if clip.left_out(min_votes):
            total.left_out += 1
            continue
        total.scored += 1
        types = {sep28k_type(e) for e in events}
        for kind in TYPES:
            heard, detected = clip.heard(kind, min_votes), kind in types
            type_score = total.types[kind]
            type_score.labelled += heard is True
            type_score.detected += detected and heard is not None
            type_score.found += detected and heard is True
        if clip.fluent(min_votes):
            total.fluent_clips += 1
            total.fluent_clips_with_events += bool(events)
            total.fluent_events += len(events)
            total.fluent_syllables += syllables
    return total


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
