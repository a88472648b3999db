"""OpenAPI descriptions the route signatures cannot give FastAPI: text answers beside JSON,
files answered whole or in part, and the form fields both upload routes take."""

from __future__ import annotations

from typing import Any

from pipelines.audio import Channel

CHANNEL_FIELD: dict[str, Any] = {
    "type": "string",
    "enum": [c.value for c in Channel],
    "default": Channel.mix.value,
    "description": "The speech to measure in a two-channel recording: both channels mixed, or "
    "the left or right one alone (a microphone per speaker). 422 invalid_channel for left or "
    "right on a recording without two channels.",
}
"""``channel``, on ``POST /audio_recordings`` and ``POST /v1/audio/transcriptions``."""


def text_responses(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """``responses`` for a route that answers 200 in JSON or, by its format option, in these
    text formats (the schema checks served media types against these, e.g. ``make fuzz``)."""
    text = {"schema": {"type": "string"}}
    return {200: {"content": {"application/json": {}, **{m: text for m in media_types}}}}


def file_responses(
    *media_types: str, errors: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """``responses`` for a route that answers a file in one of ``media_types``: whole (200) or
    the byte range a ``Range`` header asked for (206), or 416 for a range past its end."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    content = {m: binary for m in media_types}
    return {
        200: {"content": content, "description": "The whole file"},
        206: {"content": content, "description": "The requested byte range (``Content-Range``)"},
        416: {"description": "range_not_satisfiable: the range starts past the end"},
        **{status: {"description": text} for status, text in (errors or {}).items()},
    }
