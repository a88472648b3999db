"""Dataclasses shared by the pipeline, the transcription backends and the report.

Times are seconds. Inside a chunk they are relative to the chunk; after the merge they are
relative to the whole recording.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000
"""Every backend takes mono float32 PCM at this rate."""

AudioArray = npt.NDArray[np.float32]


class AudioSource(Protocol):
    """A recording read a span at a time, so a long one need not be in memory whole
    (``pipelines.audio.PcmFile``; an array through ``audio_source``)."""

    @property
    def samples(self) -> int: ...

    def read(self, start: int, end: int) -> AudioArray:
        """Samples ``start`` to ``end`` (``0 <= start``), cut short at the end of the audio."""
        ...


@dataclass(frozen=True, slots=True)
class InMemoryAudio:
    """An array as an ``AudioSource``; ``read`` returns views."""

    array: AudioArray

    @property
    def samples(self) -> int:
        return len(self.array)

    def read(self, start: int, end: int) -> AudioArray:
        return self.array[start:end]


def audio_source(audio: AudioArray | AudioSource) -> AudioSource:
    """``audio`` as an ``AudioSource``: arrays are wrapped, sources returned as they are."""
    return InMemoryAudio(audio) if isinstance(audio, np.ndarray) else audio


@dataclass(frozen=True, slots=True)
class Word:
    word: str
    start: float
    end: float
    probability: float = 1.0

    @property
    def middle(self) -> float:
        """Where the word lies, by the middle of its span: what decides which window, chunk
        or segment a word whose times straddle a border belongs to."""
        return (self.start + self.end) / 2

    @property
    def ends_sentence(self) -> bool:
        return self.word.endswith(_SENTENCE_END)

    def placed(self, offset_s: float) -> Word:
        """This word of a window or chunk in the recording's time: ``offset_s`` (where the
        window starts) added to its times, rounded to the millisecond (``millisecond``), and
        whisper's leading space dropped."""
        return Word(
            self.word.strip(),
            millisecond(self.start + offset_s),
            millisecond(self.end + offset_s),
            self.probability,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "word": self.word,
            "start": self.start,
            "end": self.end,
            "probability": self.probability,
        }


_SENTENCE_END = (".", "?", "!", "。", "？", "！")
"""What a word that ends a sentence ends with."""


def millisecond(seconds: float) -> float:
    """Millisecond precision: what timestamps mean, without float noise from the offsets added
    to a window's times (``Word.placed``)."""
    return round(seconds, 3)


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

    def sentences(self) -> list[Segment]:
        """This segment split at the words that end a sentence (itself when it is one).

        Batched decoding gives one segment per window of up to 30 s; subtitles and
        ``verbose_json`` want sentence-sized ones, as sequential decoding gives. Without word
        times there is nothing to split by.
        """
        pieces: list[list[Word]] = [[]]
        for word in self.words:
            pieces[-1].append(word)
            if word.ends_sentence:
                pieces.append([])
        pieces = [p for p in pieces if p]
        if len(pieces) <= 1:
            return [self]
        return [Segment.from_words(p) for p in pieces]

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "words": [w.to_dict() for w in self.words],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Segment:
        return cls(
            start=data["start"],
            end=data["end"],
            text=data["text"],
            words=tuple(Word(**w) for w in data.get("words", ())),
        )


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where ``mask`` is True, as runs: their first indices and the indices just past them."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return edges[::2], edges[1::2]


def joined_text(texts: Iterable[str]) -> str:
    """Segment texts as one transcript text: joined by single spaces, no space at either end."""
    return " ".join(" ".join(texts).split())


@dataclass(frozen=True, slots=True)
class TranscriptionOptions:
    """What a caller asks of a backend for one piece of audio."""

    language: str | None = "en"
    prompt: str | None = None
    word_timestamps: bool = True
    windows: tuple[tuple[float, float], ...] | None = None
    """Spans of the audio (seconds, in order, apart) to decode each as a window of its own,
    without the text of the others, and nothing outside them: the second pass's packs, sent
    several to a call. A backend that decodes windows together does these in one batch; one
    that takes a whole file may transcribe it whole (silence lies between the spans), since
    each word is placed by its time. None: the whole audio, as one recording."""


@dataclass(frozen=True, slots=True)
class ChunkTranscript:
    """One backend's answer for one chunk; times relative to the chunk start."""

    segments: tuple[Segment, ...]
    language: str
    backend: str
    model: str
    node_id: str | None = None
    """The Ray node whose replica transcribed it (the local backend's); None where no replica
    did. Kept in the transcript's ``chunks``, so an operator can tell where each chunk ran."""


Span = tuple[float, float]
"""Start and end in seconds."""
SendSpan = Callable[[int, int, TranscriptionOptions], Awaitable[ChunkTranscript]]
"""Transcribe the samples from one index to another of the recording being transcribed."""
SendSamples = Callable[[Callable[[], AudioArray], TranscriptionOptions], Awaitable[ChunkTranscript]]
"""Transcribe what the reader returns, read only when a slot for it is free (audio made from
the recording's spans, such as the second pass's packed stretches)."""


@dataclass(frozen=True, slots=True)
class Transcript:
    """The merged transcript of a whole recording.

    ``to_dict``/``from_dict`` are its one JSON shape: what the report deployment is sent, what
    the ``transcriptions`` row holds (one column per field) and what the API serves.
    """

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

    def with_segments(self, segments: Sequence[Segment]) -> Transcript:
        """This transcript with other ``segments`` (a repair, a clinician's review), its
        ``text`` rebuilt from them."""
        return replace(self, segments=tuple(segments), text=joined_text(s.text for s in segments))

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "language": self.language,
            "backend": self.backend,
            "model": self.model,
            "segments": [s.to_dict() for s in self.segments],
            "chunks": list(self.chunks),
            "coverage": self.coverage,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Transcript:
        return cls(
            text=data["text"],
            language=data["language"],
            backend=data["backend"],
            model=data["model"],
            segments=tuple(Segment.from_dict(s) for s in data.get("segments", ())),
            chunks=tuple(data.get("chunks", ())),
            coverage=dict(data.get("coverage") or {}),
        )


@dataclass(frozen=True, slots=True)
class FluencyReport:
    """A recording's report: its metrics and the Markdown written from them.

    ``to_dict``/``from_dict`` are its one JSON shape, as for ``Transcript``: what the report
    deployment answers, what the ``reports`` row holds and what the API serves.
    """

    type: str
    language: str
    generator: str
    """The chat client's name when an LLM wrote the narrative, else "template"."""
    metrics: dict[str, Any]
    content_markdown: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FluencyReport:
        return cls(**{f.name: data[f.name] for f in fields(cls)})
