"""What a report can be asked for: its type and its language.

Checked once, where a request names them (the upload's form fields); every function below takes
these enums and trusts them.
"""

from __future__ import annotations

from enum import StrEnum


class ReportType(StrEnum):
    """What the report emphasises; the first is the default."""

    fluency_analysis = "fluency_analysis"
    speech_patterns = "speech_patterns"
    comprehensive = "comprehensive"


class ReportLanguage(StrEnum):
    """The language the report is written in (not the speech's); the first is the default."""

    en = "en"
    pt = "pt"
    es = "es"
    fr = "fr"
    de = "de"
