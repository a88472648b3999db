"""Uploads that are not usable audio, as the API answers them."""

from __future__ import annotations

from fluently.errors import FluentlyError, PayloadTooLarge, UnprocessableEntity
from pipelines.audio import InvalidAudio


def refused(exc: InvalidAudio) -> FluentlyError:
    """413 ``audio_too_long`` for audio over the duration limit, else 422 with ``exc.code``."""
    if exc.code == "too_long":
        return PayloadTooLarge(exc.message, code="audio_too_long")
    return UnprocessableEntity(exc.message, code=exc.code)
