"""Numbers as the report language writes them, through Babel's CLDR data."""

from __future__ import annotations

import re
from dataclasses import dataclass

from babel import Locale
from babel.numbers import format_decimal, format_percent

from pipelines.report.options import ReportLanguage

UNAVAILABLE = "—"
"""Shown for a figure that was not computed (syllables in a language without counting)."""


def number(value: float | None, language: ReportLanguage, decimals: int = 0) -> str:
    """``value`` as the report language writes numbers: "1,234.5" in en, "1.234,5" in de."""
    if value is None:
        return UNAVAILABLE
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=language)


def percent(value: float | None, language: ReportLanguage, decimals: int = 1) -> str:
    """A percentage (12.3 for 12.3 %) with the locale's sign placement: "12.3%", "12,3 %"."""
    if value is None:
        return UNAVAILABLE
    pattern = Locale.parse(language).percent_formats[None].pattern
    if decimals:
        pattern = re.sub(r"0(?=[^0]*$)", "0." + "0" * decimals, pattern, count=1)
    return format_percent(value / 100.0, format=pattern, locale=language)


def seconds_value(value: float, language: ReportLanguage, decimals: int = 1) -> str:
    return f"{number(value, language, decimals)} s"


def threshold(value: float, language: ReportLanguage) -> str:
    """A threshold as written in settings, without trailing zeros: "0.25", "2"."""
    return format_decimal(value, locale=language)


@dataclass(frozen=True, slots=True)
class Numbers:
    """Numbers as the report language writes them."""

    language: ReportLanguage

    def decimal(self, value: float | None, decimals: int = 0) -> str:
        return number(value, self.language, decimals)

    def percent(self, value: float | None, decimals: int = 1) -> str:
        return percent(value, self.language, decimals)

    def seconds(self, value: float) -> str:
        return threshold(value, self.language)
