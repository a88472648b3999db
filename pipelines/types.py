"""Dataclasses shared by the pipeline, the transcription backends and the report.

Times are seconds. Inside a chunk they are relative to the chunk; after the merge they are
relative to the whole recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000
"""Every backend takes mono float32 PCM at this rate."""

AudioArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Word:
    word: str
    start: float
    end: float
    probability: float = 1.0


@dataclass(frozen=True, slots=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()

    @classmethod
    def from_words(cls, words: Sequence[Word]) -> Segment:
        """The segment of ``words`` (at least one): their span, their text joined by spaces."""
        return cls(
            start=words[0].start,
            end=words[-1].end,
            text=" ".join(w.word for w in words),
            words=tuple(words),
        )


@dataclass(frozen=True, slots=True)
class TranscriptionOptions:
    """What a caller asks of a backend for one piece of audio."""

    language: str | None = "en"
    prompt: str | None = None
    word_timestamps: bool = True


@dataclass(frozen=True, slots=True)
class ChunkTranscript:
    """One backend's answer for one chunk; times relative to the chunk start."""

    segments: tuple[Segment, ...]
    language: str
    backend: str
    model: str


@dataclass(frozen=True, slots=True)
class Transcript:
    """The merged transcript of a whole recording."""

    text: str
    language: str
    backend: str
    model: str
    segments: tuple[Segment, ...] = ()
    chunks: tuple[dict[str, Any], ...] = field(default=())
    coverage: dict[str, Any] = field(default_factory=dict)
    """What the coverage check found and repaired (``pipelines.coverage.Coverage.to_dict``)."""

    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        segments = tuple(
            Segment(
                start=s["start"],
                end=s["end"],
                text=s["text"],
                words=tuple(Word(**w) for w in s.get("words", ())),
            )
            for s in data.get("segments", ())
        )
        return cls(
            text=data["text"],
            language=data["language"],
            backend=data["backend"],
            model=data["model"],
            segments=segments,
            chunks=tuple(data.get("chunks", ())),
            coverage=dict(data.get("coverage") or {}),
        )
