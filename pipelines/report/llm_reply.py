"""An LLM's reply, validated into a ``Narrative`` with any Markdown or HTML structure flattened.

LLM text is untrusted: besides this, ``render_markdown`` escapes every piece of it, so it can
add no headings, tables or links to the report.
"""

from __future__ import annotations

import html
import json
import re

from pipelines.report.narrative import MAX_ITEM_CHARS, MAX_ITEMS, MAX_SUMMARY_CHARS, Narrative

_BLOCK_MARKER = re.compile(r"^\s*(?:#{1,6}|>+|[-*+]\s|\d+[.)]\s|`{3,}|~{3,}|\|)+\s*")
_RULE_LINE = re.compile(r"^[\s|:=*_~`-]*$")
_TAG = re.compile(r"<[^>]*>")


def parse_narrative(raw: str) -> Narrative:
    """Validate an LLM reply into a ``Narrative``; raise ``ValueError`` when it is not one.

    The reply must be a JSON object with exactly ``summary`` (non-empty string),
    ``observations`` and ``recommendations`` (lists of strings), within the length limits
    the prompt states. Each string is flattened to one line: HTML tags are removed, table
    rows and rules dropped, and heading, quote and list markers at line starts stripped.
    """
    text = raw.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"narrative is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("narrative must be a JSON object")
    expected = {"summary", "observations", "recommendations"}
    if set(data) != expected:
        raise ValueError(f"narrative keys must be exactly {sorted(expected)}, got {sorted(data)}")
    summary = _flatten(data["summary"], "summary", MAX_SUMMARY_CHARS)
    if not summary:
        raise ValueError("narrative summary is empty")
    return Narrative(
        summary=summary,
        observations=_flatten_list(data["observations"], "observations"),
        recommendations=_flatten_list(data["recommendations"], "recommendations"),
    )


def _flatten_list(value: object, name: str) -> list[str]:
    if not isinstance(value, list):
        raise ValueError(f"narrative {name} must be a list of strings")
    if len(value) > MAX_ITEMS:
        raise ValueError(f"narrative {name} has {len(value)} items; at most {MAX_ITEMS}")
    items = [_flatten(item, name, MAX_ITEM_CHARS) for item in value]
    return [item for item in items if item]


def _flatten(value: object, name: str, limit: int) -> str:
    if not isinstance(value, str):
        raise ValueError(f"narrative {name} must contain strings")
    if len(value) > limit:
        raise ValueError(f"narrative {name} is longer than {limit} characters")
    text = _TAG.sub(" ", html.unescape(value))
    lines = []
    for line in text.splitlines():
        if _RULE_LINE.match(line):
            continue
        lines.append(_BLOCK_MARKER.sub("", line).replace("|", "/"))
    return " ".join(" ".join(lines).split())
