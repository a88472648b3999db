"""Groq and Azure OpenAI Whisper backends, called through their official SDKs.

Both speak the OpenAI transcription protocol: a multipart upload answered with ``verbose_json``.
Chunks travel as FLAC (lossless, about half the size of 16-bit PCM for speech) and are refused
locally when over the providers' 25 MB upload limit, since the provider would only answer 413.
The SDKs' own retries are off (``max_retries=0``): ``deployments.resilience`` decides.
"""

from __future__ import annotations

import io
import json
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import av
import groq
import numpy as np
import openai
from pydantic import SecretStr

from deployments.languages import ENGLISH_ONLY, WHISPER_LANGUAGES
from deployments.resilience import CircuitBreaker, MalformedResponse, RetryPolicy, call_with_retries
from deployments.sdk_clients import azure_client, groq_client
from deployments.transcriber import SAMPLE_RATE, AudioArray, BackendRejected
from pipelines.types import ChunkTranscript, Segment, TranscriptionOptions, Word

PROVIDER_UPLOAD_LIMIT_BYTES = 25_000_000
"""Groq and Azure OpenAI both refuse transcription uploads over 25 MB."""

_WORST_CASE_FLAC_BYTES_PER_S = SAMPLE_RATE * 2 * 1.02
"""16-bit samples; FLAC of incompressible audio (noise) comes out ~1% over raw PCM."""

Granularity = Literal["word", "segment"]


def groq_languages(model: str) -> frozenset[str]:
    """What a Groq transcription model transcribes. Groq documents its Whisper models as
    multilingual, except the English-only distilled ones, whose names end in ``-en``."""
    return ENGLISH_ONLY if model.endswith(("-en", ".en")) else WHISPER_LANGUAGES


AZURE_LANGUAGES = WHISPER_LANGUAGES
"""Azure OpenAI's transcription deployments run OpenAI's Whisper (``whisper-1``), which takes
Whisper's languages."""


@dataclass(frozen=True, slots=True)
class GroqTranscriberConfig:
    api_key: SecretStr | str
    base_url: str | None = None
    """``None`` means the SDK default, https://api.groq.com; tests point it at a local fake."""
    model: str = "whisper-large-v3-turbo"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_upload_bytes: int = PROVIDER_UPLOAD_LIMIT_BYTES


@dataclass(frozen=True, slots=True)
class AzureTranscriberConfig:
    api_key: SecretStr | str
    endpoint: str
    """The resource endpoint, e.g. https://my-resource.openai.azure.com."""
    deployment: str
    """Azure routes by deployment name; it is also what transcripts record as the model."""
    api_version: str = "2024-06-01"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_upload_bytes: int = PROVIDER_UPLOAD_LIMIT_BYTES


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
        index = bisect_right(starts, (word.start + word.end) / 2) - 1
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


class _OpenAIProtocolTranscriber(ABC):
    """What Groq and Azure share: size guard, encoding, retries, parsing."""

    def __init__(
        self, *, retry: RetryPolicy, breaker: CircuitBreaker, max_upload_bytes: int
    ) -> None:
        self._retry = retry
        self.breaker = breaker
        self._max_upload_bytes = max_upload_bytes

    @property
    @abstractmethod
    def name(self) -> str: ...

    @property
    @abstractmethod
    def model(self) -> str: ...

    @property
    @abstractmethod
    def languages(self) -> frozenset[str]: ...

    @property
    def max_chunk_s(self) -> float:
        """Longest chunk guaranteed to fit the upload limit, so the planner can size chunks."""
        return self._max_upload_bytes / _WORST_CASE_FLAC_BYTES_PER_S

    @abstractmethod
    def _post(
        self, flac: bytes, options: TranscriptionOptions, granularities: list[Granularity]
    ) -> str:
        """Send one upload and return the response body (raises the SDK's errors)."""

    def transcribe(self, audio: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        if audio.size == 0:
            raise BackendRejected(f"{self.name}: refusing to send an empty chunk")
        flac = encode_flac(audio)
        if len(flac) > self._max_upload_bytes:
            raise BackendRejected(
                f"{self.name}: chunk of {audio.size / SAMPLE_RATE:.0f} s is {len(flac)} bytes as "
                f"FLAC, over the provider's {self._max_upload_bytes} byte upload limit; "
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

        return call_with_retries(attempt, self._retry, self.breaker)


class GroqTranscriber(_OpenAIProtocolTranscriber):
    """Whisper on Groq (``POST /openai/v1/audio/transcriptions``)."""

    def __init__(
        self, config: GroqTranscriberConfig, *, breaker: CircuitBreaker | None = None
    ) -> None:
        super().__init__(
            retry=config.retry,
            breaker=breaker or CircuitBreaker(name="groq"),
            max_upload_bytes=config.max_upload_bytes,
        )
        self._model = config.model
        self._client = groq_client(config.api_key, config.base_url, config.retry.timeout_s)

    @property
    def name(self) -> str:
        return "groq"

    @property
    def model(self) -> str:
        return self._model

    @property
    def languages(self) -> frozenset[str]:
        return groq_languages(self._model)

    def _post(
        self, flac: bytes, options: TranscriptionOptions, granularities: list[Granularity]
    ) -> str:
        raw = self._client.audio.transcriptions.with_raw_response.create(
            file=("chunk.flac", flac, "audio/flac"),
            model=self._model,
            response_format="verbose_json",
            timestamp_granularities=granularities,
            language=options.language or groq.omit,
            prompt=options.prompt or groq.omit,
        )
        return raw.http_response.text


class AzureTranscriber(_OpenAIProtocolTranscriber):
    """Whisper on Azure OpenAI (``POST /openai/deployments/{deployment}/audio/transcriptions``)."""

    def __init__(
        self, config: AzureTranscriberConfig, *, breaker: CircuitBreaker | None = None
    ) -> None:
        super().__init__(
            retry=config.retry,
            breaker=breaker or CircuitBreaker(name="azure"),
            max_upload_bytes=config.max_upload_bytes,
        )
        self._deployment = config.deployment
        self._client = azure_client(
            config.api_key, config.endpoint, config.api_version, config.retry.timeout_s
        )

    @property
    def name(self) -> str:
        return "azure"

    @property
    def model(self) -> str:
        return self._deployment

    @property
    def languages(self) -> frozenset[str]:
        return AZURE_LANGUAGES

    def _post(
        self, flac: bytes, options: TranscriptionOptions, granularities: list[Granularity]
    ) -> str:
        raw = self._client.audio.transcriptions.with_raw_response.create(
            file=("chunk.flac", flac, "audio/flac"),
            model=self._deployment,
            response_format="verbose_json",
            timestamp_granularities=granularities,
            language=options.language or openai.omit,
            prompt=options.prompt or openai.omit,
        )
        return raw.http_response.text
