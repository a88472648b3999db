"""The languages a request may name, and the ones each transcription backend transcribes.

A request names an ISO 639-1 code (checked against the ISO 639 tables that ``iso639-lang``
ships, not a pattern) or ``auto``. Backends declare what they transcribe as ISO 639-1 codes.
"""

from __future__ import annotations

import iso639
from faster_whisper.tokenizer import _LANGUAGE_CODES

AUTO = "auto"
"""Let the backend choose: remote Whisper detects the language, the local backend uses its
configured ``language`` (``null`` in the Serve ``user_config`` means detect)."""

ISO_639_1 = frozenset(lang.pt1 for lang in iso639.iter_langs() if lang.pt1)
"""Every current two-letter ISO 639-1 code."""

ENGLISH_ONLY = frozenset({"en"})
"""What a Whisper ``.en`` model transcribes; every Whisper model transcribes English."""

WHISPER_LANGUAGES = frozenset(_LANGUAGE_CODES) & ISO_639_1
"""What a multilingual Whisper model transcribes (faster-whisper's copy of Whisper's tokenizer
list), as ISO 639-1 codes. Whisper names three languages by codes outside ISO 639-1 (``haw``,
``yue``, and ``jw`` where ISO says ``jv``); a request can reach those only with ``auto``."""


def whisper_languages(*, multilingual: bool) -> frozenset[str]:
    return WHISPER_LANGUAGES if multilingual else ENGLISH_ONLY


def is_language(value: str) -> bool:
    """Whether ``value`` is ``auto`` or an ISO 639-1 code."""
    return value == AUTO or value in ISO_639_1


def for_backend(language: str) -> str | None:
    """What to ask a backend for: a code, or ``None`` (``auto``) for the backend to choose."""
    return None if language == AUTO else language
