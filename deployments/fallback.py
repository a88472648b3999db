"""Try transcription backends in order of preference until one answers."""

from __future__ import annotations

import time
from collections.abc import Sequence

from deployments.transcriber import (
    SAMPLE_RATE,
    AudioArray,
    BackendRejected,
    BackendUnavailable,
    Transcriber,
)
from fluently import metrics, tracing
from fluently.logging import get_logger
from pipelines.types import ChunkTranscript, TranscriptionOptions

log = get_logger("fallback")


class FallbackTranscriber:
    """A Transcriber that asks each backend in turn (e.g. groq, then azure).

    The dispatcher gives it the remote backends only; the local model, a deployment of its own,
    is the last resort after it in ``deployments.fallback_chain.FallbackChain``.

    Each remote backend owns its retry policy and circuit breaker, so one whose circuit is open
    fails instantly without a request and costs nothing to skip. A backend moves us on when it
    is unavailable (retries spent, circuit open, garbage answer) and also when it *rejects* the
    chunk (a 4xx: size limit, bad key, unknown model): that request will never succeed on that
    provider, so it is not retried there, but another provider has other limits and other
    credentials and may well take it. The returned ChunkTranscript names the backend and model
    that actually produced it.

    When every backend fails it raises BackendUnavailable, unless every one of them *rejected*
    the chunk: then BackendRejected, so the job is failed rather than retried in vain.

    A backend is not asked for a language it does not transcribe: an English-only model given
    Portuguese writes English words that were never said.
    """

    def __init__(self, backends: Sequence[Transcriber]) -> None:
        if not backends:
            raise ValueError("FallbackTranscriber needs at least one backend")
        self._backends = tuple(backends)

    @property
    def name(self) -> str:
        return ">".join(b.name for b in self._backends)

    @property
    def model(self) -> str:
        return ">".join(b.model for b in self._backends)

    @property
    def languages(self) -> frozenset[str]:
        return frozenset().union(*(b.languages for b in self._backends))

    @property
    def max_chunk_s(self) -> float | None:
        """The tightest upload-size limit among the backends that declare one."""
        limits = [
            limit for b in self._backends if (limit := getattr(b, "max_chunk_s", None)) is not None
        ]
        return min(limits, default=None)

    def transcribe(self, audio: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        backends = [
            b for b in self._backends if options.language is None or options.language in b.languages
        ]
        if not backends:
            raise BackendRejected(
                f"no transcription backend ({self.name}) transcribes '{options.language}'"
            )
        failures: list[BackendUnavailable | BackendRejected] = []
        for backend in backends:
            try:
                return observed(backend, audio, options)
            except (BackendUnavailable, BackendRejected) as exc:
                log.warning("transcription backend %s failed: %s", backend.name, exc)
                reason = "rejected" if isinstance(exc, BackendRejected) else "unavailable"
                metrics.FALLBACKS.inc(backend=backend.name, reason=reason)
                failures.append(exc)
        summary = "every transcription backend failed: " + "; ".join(
            f"{b.name}: {exc}" for b, exc in zip(backends, failures, strict=True)
        )
        if all(isinstance(exc, BackendRejected) for exc in failures):
            raise BackendRejected(summary) from failures[-1]
        raise BackendUnavailable(summary) from failures[-1]


def observed(
    backend: Transcriber, audio: AudioArray, options: TranscriptionOptions
) -> ChunkTranscript:
    """``backend.transcribe`` as a ``transcribe`` span, counted in ``fluently_chunk_*``."""
    audio_s = len(audio) / SAMPLE_RATE
    with tracing.span(
        "transcribe", attributes={"fluently.backend": backend.name, "fluently.audio_s": audio_s}
    ):
        started = time.perf_counter()
        result = backend.transcribe(audio, options)
    record_chunk(result, audio_s=audio_s, elapsed_s=time.perf_counter() - started)
    return result


def record_chunk(result: ChunkTranscript, *, audio_s: float, elapsed_s: float) -> None:
    """A transcribed chunk's audio seconds and real-time factor, by its backend and model."""
    labels = {"backend": result.backend, "model": result.model}
    metrics.CHUNK_AUDIO.inc(audio_s, **labels)
    if audio_s > 0:
        metrics.CHUNK_REALTIME_FACTOR.observe(elapsed_s / audio_s, **labels)
