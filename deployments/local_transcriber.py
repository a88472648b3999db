"""The local faster-whisper backend as a Serve deployment with hot model swaps.

The model and decoding options are the deployment's ``user_config`` in ``serve_config.yaml``;
``serve deploy`` with a changed ``user_config`` calls ``reconfigure`` on live replicas, which
loads the new model into a local first and then swaps it in, so requests in flight finish on
the model they started with and none fails.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import ray
from opentelemetry.trace import SpanKind

from deployments.fallback import record_chunk
from deployments.local_whisper import LocalWhisperConfig, LocalWhisperTranscriber
from deployments.transcriber import SAMPLE_RATE, AudioArray, BackendRejected
from fluently import tracing
from fluently.logging import configure_logging, get_logger
from pipelines.types import ChunkTranscript, TranscriptionOptions

log = get_logger("local_transcriber")


class LocalTranscriberDeployment:
    """Serve wraps this class; the constructor loads nothing (``reconfigure`` does)."""

    def __init__(self, otlp_endpoint: str | None = None) -> None:
        configure_logging()
        tracing.configure_tracing(
            service_name="fluently-local-transcriber", otlp_endpoint=otlp_endpoint
        )
        self._lock = threading.Lock()
        self._transcriber: LocalWhisperTranscriber | None = None
        self._config: LocalWhisperConfig | None = None
        # Outside Ray (the class tested alone) there is no node.
        self._node_id: str | None = (
            ray.get_runtime_context().get_node_id() if ray.is_initialized() else None
        )

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        config = LocalWhisperConfig.model_validate(user_config or {})
        if config == self._config:
            return
        loaded = LocalWhisperTranscriber(config)
        with self._lock:
            self._transcriber, self._config = loaded, config
        log.info("model loaded", extra={"model": loaded.model, "config": config.model_dump()})

    def _current(self) -> LocalWhisperTranscriber:
        with self._lock:
            if self._transcriber is None:
                # Deployed without a user_config: Serve never calls reconfigure then.
                self._transcriber = LocalWhisperTranscriber(LocalWhisperConfig())
                self._config = LocalWhisperConfig()
            return self._transcriber

    def transcribe(
        self, audio: AudioArray, options: TranscriptionOptions, traceparent: str | None = None
    ) -> ChunkTranscript:
        """One chunk; ``traceparent`` is the caller's span, which this one continues."""
        with tracing.span(
            "transcribe",
            parent=traceparent,
            kind=SpanKind.SERVER,
            attributes={"fluently.backend": "local", "fluently.audio_s": len(audio) / SAMPLE_RATE},
        ):
            return self._transcribe(audio, options)

    def _transcribe(self, audio: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        transcriber = self._current()
        if options.language is not None and options.language not in transcriber.languages:
            # An English-only model writes English words for other speech, never an error.
            raise BackendRejected(
                f"local: {transcriber.model} does not transcribe '{options.language}'"
            )
        started = time.perf_counter()
        result = transcriber.transcribe(audio, options)
        elapsed_s = time.perf_counter() - started
        record_chunk(result, audio_s=len(audio) / SAMPLE_RATE, elapsed_s=elapsed_s)
        log.info(
            "chunk transcribed",
            extra={
                "audio_s": round(len(audio) / SAMPLE_RATE, 3),
                "elapsed_s": round(elapsed_s, 3),
                "words": sum(len(s.words) for s in result.segments),
            },
        )
        return dataclasses.replace(result, node_id=self._node_id)

    def describe(self) -> dict[str, Any]:
        """What is loaded, for ``GET /v1/models``."""
        transcriber = self._current()
        assert self._config is not None
        return {
            "backend": transcriber.name,
            "model": transcriber.model,
            "languages": sorted(transcriber.languages),
            "config": self._config.model_dump(mode="json"),
        }
