"""Every number an LLM writes in a narrative must be one of the metrics it was given.

The prompt tells the model to use only the METRICS numbers, but a model computes, rounds
differently or invents ("about 4 disfluencies per minute", "%SS of 7.5" where the table says
5.2), and a clinician reads the narrative beside the table. So each number in the narrative is
read (as the report language writes numbers, or as English does) and must equal, to the
precision it is written with, a number of the prompt's metrics: a value itself, a duration
(``*_s``) in minutes, a count of listed items, or the 100 of "per 100 syllables". A
narrative with any other number is refused like an unparseable one, and the report falls back
to the next LLM or the template.

This catches invented and recomputed figures, not a right figure put on the wrong measure:
"0 blocks" passes whenever some metric is 0. The metrics table stays the reference.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from babel.numbers import get_decimal_symbol, get_group_symbol

from pipelines.report.narrative import Narrative
from pipelines.report.options import ReportLanguage

_NUMBER = re.compile(r"(?<![\w.,])(?<![A-Za-z]-)\d+(?:[.,\u00a0\u202f]\d+)*(?![\w])")
"""Digits with group or decimal separators, not part of a name ("SSI-4", "F0") or an ordinal
("4th")."""
ALWAYS = frozenset({100.0})
"""Numbers a narrative may write whatever the metrics: "per 100 syllables"."""


def unsupported_numbers(
    narrative: Narrative, metrics: Mapping[str, Any], language: ReportLanguage
) -> list[str]:
    """The numbers written in ``narrative`` that no figure of ``metrics`` supports."""
    allowed = supported_values(metrics)
    conventions = _conventions(language)
    texts = [narrative.summary, *narrative.observations, *narrative.recommendations]
    return [
        token
        for text in texts
        for token in _NUMBER.findall(text)
        if not any(_close(v, decimals, allowed) for v, decimals in _readings(token, conventions))
    ]


def supported_values(metrics: Mapping[str, Any]) -> list[float]:
    """The metrics' numbers, durations also in minutes (their keys end in ``_s``), the counts
    of their lists, and ``ALWAYS``."""
    values = set(ALWAYS)
    for key, value in _leaves(metrics, ""):
        values.add(value)
        if key.endswith("_s"):
            values.add(value / 60)
    return list(values)


def _leaves(value: Any, key: str) -> Iterator[tuple[str, float]]:
    """(key, number) for every number under ``value``; a list's length under its own key."""
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        if math.isfinite(value):
            yield key, float(value)
    elif isinstance(value, Mapping):
        for name, item in value.items():
            yield from _leaves(item, str(name))
    elif isinstance(value, list | tuple):
        yield key, float(len(value))
        for item in value:
            yield from _leaves(item, key)


def _conventions(language: ReportLanguage) -> set[tuple[str, str]]:
    """(group, decimal) separators a number may be written with: the report language's,
    English's, and the two the other way round."""
    return {(get_group_symbol(language), get_decimal_symbol(language)), (",", "."), (".", ",")}


def _readings(token: str, conventions: set[tuple[str, str]]) -> Iterator[tuple[float, int]]:
    """``token`` as a number under each of the ``conventions``, with the decimals it shows."""
    for group, decimal in conventions:
        # French groups with a narrow no-break space; a no-break space is as good.
        groups = {group, "\u00a0", "\u202f"} if group.isspace() else {group}
        text = token
        for separator in groups:
            text = text.replace(separator, "")
        whole, _, fraction = text.partition(decimal)
        if whole.isdigit() and (not fraction or fraction.isdigit()):
            yield float(f"{whole}.{fraction or 0}"), len(fraction)


def _close(value: float, decimals: int, allowed: list[float]) -> bool:
    """Whether a figure rounded to ``decimals`` places reads ``value``."""
    slack = 0.5 * 10.0**-decimals + 1e-9
    return any(abs(value - figure) <= slack for figure in allowed)


def check_numbers(
    narrative: Narrative, metrics: Mapping[str, Any], language: ReportLanguage
) -> Narrative:
    """``narrative`` when each of its numbers is supported by ``metrics``; else ``ValueError``
    naming the first few that are not."""
    unsupported = unsupported_numbers(narrative, metrics, language)
    if unsupported:
        shown = ", ".join(repr(n) for n in unsupported[:5])
        raise ValueError(f"narrative has numbers that are not in the metrics: {shown}")
    return narrative
