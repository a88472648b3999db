"""The prose part of a report, and the limits an LLM is told and held to."""

from __future__ import annotations

from dataclasses import dataclass

MAX_SUMMARY_CHARS = 1500
MAX_ITEMS = 8
MAX_ITEM_CHARS = 500


@dataclass(frozen=True, slots=True)
class Narrative:
    """The prose part of a report, in the report's language, with no Markdown of its own."""

    summary: str
    observations: list[str]
    recommendations: list[str]
