"""The one protocol every transcription backend implements (local, groq, azure)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from pipelines.types import ChunkTranscript, TranscriptionOptions

SAMPLE_RATE = 16_000
"""Every backend takes mono float32 PCM at this rate."""

AudioArray = npt.NDArray[np.float32]


class BackendUnavailable(Exception):
    """A backend could not answer (after its own retries); the caller may fall back."""


class BackendRejected(Exception):
    """A backend refused the request itself (a 4xx other than 429); retrying will not help."""


@runtime_checkable
class Transcriber(Protocol):
    """Transcribes one chunk of 16 kHz mono audio."""

    @property
    def name(self) -> str:
        """Backend name as stored in transcripts: "local", "groq" or "azure"."""
        ...

    @property
    def model(self) -> str:
        """Model identifier as stored in transcripts."""
        ...

    def transcribe(self, audio: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        """Transcribe ``audio``; times in the result are relative to its first sample."""
        ...
