"""Syllable counts against dictionaries in five languages, and Whisper's token shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.syllables import SYLLABLE_LANGUAGES, count_syllables, speech_language

FIXTURES = Path(__file__).parent / "fixtures" / "syllables"
"""One file per language: common words and their syllables, tab-separated. English: words whose
every CMUdict pronunciation has the same number of vowels (silent e, syllabic -le, -ed/-es, y,
vowel pairs, -tion, syncope, compounds, contractions). German, Spanish, Portuguese: dictionary
syllables (Duden, RAE, Houaiss/Priberam). French: standard spoken syllables, final mute e not
counted. Each list mixes diphthongs and hiatus, 1 to 5 syllables."""


def _expected_counts(language: str) -> dict[str, int]:
    lines = (FIXTURES / f"{language}.tsv").read_text(encoding="utf-8").splitlines()
    return {word: int(count) for word, count in (line.split("\t") for line in lines)}


@pytest.mark.parametrize("language", SYLLABLE_LANGUAGES)
def test_counts_agree_with_the_dictionary_on_common_words(language: str) -> None:
    expected = _expected_counts(language)
    wrong = {
        word: count_syllables(word, language)
        for word, count in expected.items()
        if count_syllables(word, language) != count
    }
    accuracy = 1 - len(wrong) / len(expected)
    assert len(expected) >= 100
    assert set(expected.values()) >= {1, 2, 3, 4, 5}
    assert accuracy >= 0.95, f"{accuracy:.1%} exact; wrong: {wrong}"


@pytest.mark.parametrize(
    ("language", "word", "expected"),
    [
        ("de", "Schule", 2),
        ("de", "heute", 2),
        ("de", "Sprache", 2),
        ("pt", "gente", 2),
        ("pt", "você", 2),
        ("pt", "cidade", 3),
        ("pt", "não", 1),
        ("es", "bueno", 2),
        ("es", "ciudad", 2),
        ("es", "escuela", 3),
        ("fr", "parlent", 1),
        ("fr", "école", 2),
    ],
)
def test_words_are_counted_by_their_own_language(language: str, word: str, expected: int) -> None:
    assert count_syllables(word, language) == expected


@pytest.mark.parametrize("language", ["unknown", "ja", "nl", ""])
def test_an_unsupported_language_has_no_count(language: str) -> None:
    assert count_syllables("hello", language) is None


@pytest.mark.parametrize(
    ("code", "expected"),
    [("en-US", "en"), ("pt_BR", "pt"), ("DE", "de"), (None, "unknown"), ("", "unknown")],
)
def test_speech_language_is_a_bare_code(code: str | None, expected: str) -> None:
    assert speech_language(code) == expected


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (" Um,", 1),
        ("uh", 1),
        ("Uhh...", 1),
        ("erm", 1),
        ("hmm", 1),
        ("mm", 1),
        ("uh-huh", 2),
        (" Hello.", 2),
        ("“Really?”", 2),
        ("SCHOOL", 1),  # an all-caps word of 5+ letters is read, not spelled
        ("b-", 1),
        ("b-but", 2),
        ("well-known", 2),
        ("didn't", 2),
        ("it'll", 2),
        ("George's", 2),
        ("café", 2),
    ],
)
def test_whisper_tokens_are_counted_as_spoken(token: str, expected: int) -> None:
    assert count_syllables(token) == expected


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("7", 2),  # seven
        ("42", 3),  # forty-two
        ("100", 3),  # one hundred
        ("1,000", 3),  # one thousand
        ("3.5", 3),  # three point five
        ("1999", 5),  # nineteen ninety-nine
        ("1905", 4),  # nineteen oh five
        ("2005", 4),  # two thousand five
        ("2024", 5),  # twenty twenty-four
        ("21st", 3),  # twenty-first
        ("2nd", 2),  # second
        ("20th", 3),  # twentieth
        ("90s", 2),  # nineties
        ("10:30", 3),  # ten thirty
        ("50%", 4),  # fifty percent
    ],
)
def test_numbers_are_counted_as_read_aloud(token: str, expected: int) -> None:
    assert count_syllables(token) == expected


def test_acronyms_are_spelled() -> None:
    assert count_syllables("FBI") == 3
    assert count_syllables("TV") == 2
    assert count_syllables("WHO") == 5  # double-u aitch oh


def test_punctuation_alone_is_no_syllable_and_any_word_is_at_least_one() -> None:
    assert count_syllables("...") == 0
    assert count_syllables(" - ") == 0
    assert count_syllables("") == 0
    assert count_syllables("st") == 1
    assert count_syllables("shh") == 1
