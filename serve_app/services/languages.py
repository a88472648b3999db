"""An upload's ``language``: a real ISO 639-1 code or ``auto``, and one a backend transcribes.

Both are checked before anything is stored, so a recording never waits in the queue for a
backend that would write English words for speech in another language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from deployments.languages import AUTO, ENGLISH_ONLY, is_language
from deployments.providers import remote_languages
from fluently.errors import UnprocessableEntity
from fluently.settings import Settings


def parse_language(value: str | None) -> str | None:
    """``value`` as a lower-case code, ``None`` when empty; 422 ``invalid_language`` when it is
    neither ``auto`` nor an ISO 639-1 code."""
    language = (value or "").strip().lower() or None
    if language is not None and not is_language(language):
        raise UnprocessableEntity(
            f"language '{value}' is not an ISO 639-1 code (such as 'en' or 'pt') or 'auto'",
            code="invalid_language",
        )
    return language


@dataclass(frozen=True, slots=True)
class TranscriptionLanguages:
    """What the backends behind a route transcribe, found as cheaply as possible.

    ``declared`` needs nobody asked: the remote backends' lists, from settings, and English,
    which every Whisper model transcribes. For any other language the local transcriber
    deployment is asked (its model can be swapped at any time, and it serves one chunk at a
    time, so the common case must not wait behind one). Without that deployment (the app
    outside Ray Serve), only what is declared is vouched for.
    """

    declared: frozenset[str]
    local: Any | None
    """The ``LocalTranscriber`` deployment handle, if the app runs under Serve."""

    @classmethod
    def for_recordings(cls, *, settings: Settings, local: Any | None) -> Self:
        """Recordings go to the enabled remote backends, then to the local model."""
        return cls(declared=ENGLISH_ONLY | remote_languages(settings), local=local)

    @classmethod
    def for_local(cls, *, local: Any) -> Self:
        """``/v1/audio/transcriptions`` uses the local model alone."""
        return cls(declared=ENGLISH_ONLY, local=local)

    async def check(self, language: str) -> None:
        """422 ``unsupported_language`` unless ``language`` is ``auto`` or transcribed here."""
        if language == AUTO or language in self.declared:
            return
        known = self.declared
        if self.local is not None:
            described: dict[str, Any] = await self.local.describe.remote()
            known = known | frozenset(described["languages"])
        if language not in known:
            raise UnprocessableEntity(
                f"no configured transcription backend transcribes '{language}'; "
                f"these languages can be transcribed: {', '.join(sorted(known))} (or 'auto')",
                code="unsupported_language",
            )
