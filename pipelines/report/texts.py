"""The report's words in each language, from ``locales/<language>.json``.

Loaded and checked at import: every language must have a file with exactly English's keys and,
in each string, exactly English's ``{placeholders}``, so a missing or misspelt key fails the
first test that imports the report rather than a report in production.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from importlib.resources import files
from types import MappingProxyType

from pipelines.report.options import ReportLanguage

Texts = Mapping[str, str]
"""Message key (``"heading.summary"``, ``"label.pause_count"``) → text, with ``str.format``
placeholders where figures go."""


def _load(language: ReportLanguage) -> dict[str, str]:
    resource = files("pipelines.report").joinpath("locales", f"{language}.json")
    data = json.loads(resource.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(
        isinstance(key, str) and isinstance(text, str) for key, text in data.items()
    ):
        raise ValueError(f"report texts {language}.json must map keys to strings")
    return data


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def check_texts(loaded: Mapping[ReportLanguage, Mapping[str, str]]) -> None:
    """Raise ``ValueError`` unless each language has English's keys and placeholders."""
    reference = loaded[ReportLanguage.en]
    for language, words in loaded.items():
        missing, extra = reference.keys() - words.keys(), words.keys() - reference.keys()
        if missing or extra:
            raise ValueError(
                f"report texts {language}.json: missing {sorted(missing)}, unknown {sorted(extra)}"
            )
        for key, text in words.items():
            found, expected = _placeholders(text), _placeholders(reference[key])
            if found != expected:
                raise ValueError(
                    f"report texts {language}.json: {key!r} has placeholders {sorted(found)}, "
                    f"en.json {sorted(expected)}"
                )


def _load_all() -> dict[ReportLanguage, Texts]:
    loaded = {language: _load(language) for language in ReportLanguage}
    check_texts(loaded)
    return {language: MappingProxyType(words) for language, words in loaded.items()}


_TEXTS = _load_all()


def texts(language: ReportLanguage) -> Texts:
    """The report's words in ``language``."""
    return _TEXTS[language]
