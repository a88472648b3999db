"""The one protocol every transcription backend implements (local, groq, azure)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pipelines.types import SAMPLE_RATE, AudioArray, ChunkTranscript, TranscriptionOptions

__all__ = ["SAMPLE_RATE", "AudioArray", "BackendRejected", "BackendUnavailable", "Transcriber"]


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

    @property
    def languages(self) -> frozenset[str]:
        """The ISO 639-1 codes of the languages it transcribes."""
        ...

    def transcribe(self, audio: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        """Transcribe ``audio``; times in the result are relative to its first sample."""
        ...
