"""Whisper on Groq or Azure OpenAI, called through the provider's SDK.

Both speak the OpenAI transcription protocol: a multipart upload answered with ``verbose_json``.
Chunks travel as FLAC (lossless, and much smaller than 16-bit PCM for speech) and are refused
locally when over the providers' 25 MB upload limit, since the provider would only answer 413.
"""

from __future__ import annotations

import io
import json
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import av
import numpy as np

from deployments.languages import ENGLISH_ONLY, WHISPER_LANGUAGES
from deployments.resilience import CircuitBreaker, RetryPolicy, call_with_retries
from deployments.sdk_clients import GroqProvider, MalformedResponse, Provider
from deployments.transcriber import SAMPLE_RATE, AudioArray, BackendRejected
from pipelines.types import ChunkTranscript, Segment, TranscriptionOptions, Word

PROVIDER_UPLOAD_LIMIT_BYTES = 25_000_000
"""Groq and Azure OpenAI both refuse transcription uploads over 25 MB."""

_WORST_CASE_FLAC_BYTES_PER_S = SAMPLE_RATE * 2 * 1.02
"""16-bit samples; FLAC of incompressible audio (noise) comes out ~1% over raw PCM."""

Granularity = Literal["word", "segment"]


def transcription_languages(provider: Provider, model: str) -> frozenset[str]:
    """What a provider's transcription model transcribes. Groq documents its Whisper models as
    multilingual, except the English-only distilled ones, whose names end in ``-en``. Azure
    OpenAI's transcription deployments run OpenAI's Whisper (``whisper-1``), which takes
    Whisper's languages."""
    if isinstance(provider, GroqProvider) and model.endswith(("-en", ".en")):
        return ENGLISH_ONLY
    return WHISPER_LANGUAGES


@dataclass(frozen=True, slots=True)
class RemoteTranscriberConfig:
    provider: Provider
    model: str
    """Groq's model name, or the Azure deployment's; transcripts record it as the model."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_upload_bytes: int = PROVIDER_UPLOAD_LIMIT_BYTES


class _Hints(TypedDict, total=False):
    """The optional form fields, sent only when the caller has them."""

    language: str
    prompt: str


def encode_flac(audio: AudioArray) -> bytes:
    """Encode 16 kHz mono float32 PCM as 16-bit FLAC, in memory."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16).reshape(1, -1)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="flac") as container:
        stream = container.add_stream("flac", rate=SAMPLE_RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def parse_verbose_json(
    body: str, *, backend: str, model: str, language: str | None
) -> ChunkTranscript:
    """Turn an OpenAI-style ``verbose_json`` body into a ChunkTranscript.

    The API returns words as one top-level list; each word goes to the segment its midpoint
    falls in (words in a gap go to the segment before it).
    """
    try:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        raw_segments = sorted(data.get("segments") or [], key=lambda s: float(s["start"]))
        words = [
            Word(word=str(w["word"]).strip(), start=float(w["start"]), end=float(w["end"]))
            for w in data.get("words") or []
        ]
        if not raw_segments and (words or str(data.get("text", "")).strip()):
            end = max([w.end for w in words] + [float(data.get("duration") or 0.0)])
            raw_segments = [{"start": 0.0, "end": end, "text": data.get("text", "")}]
        segments = _attach_words(raw_segments, words)
        reported_language = str(data.get("language") or "").lower()
    except (ValueError, TypeError, KeyError) as exc:
        raise MalformedResponse(f"{backend}: unreadable transcription response: {exc}") from exc
    return ChunkTranscript(
        segments=segments,
        language=language or reported_language or "unknown",
        backend=backend,
        model=model,
    )


def _attach_words(
    raw_segments: Sequence[dict[str, Any]], words: Sequence[Word]
) -> tuple[Segment, ...]:
    starts = [float(s["start"]) for s in raw_segments]
    buckets: list[list[Word]] = [[] for _ in raw_segments]
    for word in words:
        index = bisect_right(starts, word.middle) - 1
        buckets[max(index, 0)].append(word)
    return tuple(
        Segment(
            start=float(s["start"]),
            end=float(s["end"]),
            text=str(s["text"]).strip(),
            words=tuple(bucket),
        )
        for s, bucket in zip(raw_segments, buckets, strict=True)
    )


class RemoteTranscriber:
    """Transcriber on a provider's transcriptions endpoint: Groq's
    ``POST /openai/v1/audio/transcriptions``, Azure's
    ``POST /openai/deployments/{deployment}/audio/transcriptions``."""

    def __init__(
        self, config: RemoteTranscriberConfig, *, breaker: CircuitBreaker | None = None
    ) -> None:
        self._config = config
        self.breaker = breaker or CircuitBreaker(name=config.provider.name)
        self._client = config.provider.client(timeout_s=config.retry.timeout_s)

    @property
    def name(self) -> str:
        return self._config.provider.name

    @property
    def model(self) -> str:
        return self._config.model

    @property
    def languages(self) -> frozenset[str]:
        return transcription_languages(self._config.provider, self._config.model)

    @property
    def max_chunk_s(self) -> float:
        """Longest chunk guaranteed to fit the upload limit, so the planner can size chunks."""
        return self._config.max_upload_bytes / _WORST_CASE_FLAC_BYTES_PER_S

    def transcribe(self, audio: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        if audio.size == 0:
            raise BackendRejected(f"{self.name}: refusing to send an empty chunk")
        flac = encode_flac(audio)
        if len(flac) > self._config.max_upload_bytes:
            raise BackendRejected(
                f"{self.name}: chunk of {audio.size / SAMPLE_RATE:.0f} s is {len(flac)} bytes as "
                f"FLAC, over the provider's {self._config.max_upload_bytes} byte upload limit; "
                f"plan chunks of at most {self.max_chunk_s:.0f} s"
            )
        granularities: list[Granularity] = (
            ["word", "segment"] if options.word_timestamps else ["segment"]
        )

        def attempt() -> ChunkTranscript:
            body = self._post(flac, options, granularities)
            return parse_verbose_json(
                body, backend=self.name, model=self.model, language=options.language
            )

        return call_with_retries(attempt, self._config.retry, self.breaker)

    def _post(
        self, flac: bytes, options: TranscriptionOptions, granularities: list[Granularity]
    ) -> str:
        """Send one upload and return the response body (raises the SDK's errors)."""
        hints: _Hints = {}
        if options.language:
            hints["language"] = options.language
        if options.prompt:
            hints["prompt"] = options.prompt
        raw = self._client.audio.transcriptions.with_raw_response.create(
            file=("chunk.flac", flac, "audio/flac"),
            model=self._config.model,
            response_format="verbose_json",
            timestamp_granularities=granularities,
            **hints,
        )
        return raw.http_response.text
