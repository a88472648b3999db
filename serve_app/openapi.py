"""OpenAPI descriptions the route signatures cannot give FastAPI: text answers beside JSON."""

from __future__ import annotations

from typing import Any


def text_responses(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """``responses`` for a route that answers 200 in JSON or, by its format option, in these
    text formats (the schema checks served media types against these, e.g. ``make fuzz``)."""
    text = {"schema": {"type": "string"}}
    return {200: {"content": {"application/json": {}, **{m: text for m in media_types}}}}
