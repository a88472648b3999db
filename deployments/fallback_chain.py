"""Where a chunk of a recording is transcribed: the remote backends, then the local model."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from deployments.fallback import FallbackTranscriber
from deployments.transcriber import AudioArray, BackendRejected, BackendUnavailable, Transcriber
from fluently.logging import get_logger
from pipelines.transcription import TranscribeChunk
from pipelines.types import ChunkTranscript, TranscriptionOptions

# Logged as the dispatcher, whose chunks these are, as it always was.
log = get_logger("dispatcher")


class FallbackChain:
    """Sends a chunk to the remote backends in order of preference (each behind its retries and
    circuit breaker, inside ``FallbackTranscriber``), and to the local model when all fail.

    The local model is a ``TranscribeChunk`` (in production a Serve handle), not a backend of
    the ``FallbackTranscriber``: it runs elsewhere and is awaited, where the remote backends are
    blocking SDK calls run in a thread.
    """

    def __init__(self, remotes: Sequence[Transcriber], local: TranscribeChunk) -> None:
        self._remote = FallbackTranscriber(remotes) if remotes else None
        self._local = local

    async def __call__(self, audio: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        if self._remote is not None:
            try:
                return await asyncio.to_thread(self._remote.transcribe, audio, options)
            except (BackendUnavailable, BackendRejected) as exc:
                log.warning(
                    "remote backends failed; using the local model", extra={"error": str(exc)}
                )
        return await self._local(audio, options)
