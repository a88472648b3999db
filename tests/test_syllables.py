"""Syllable counts against the CMU Pronouncing Dictionary, and Whisper's token shapes."""

from __future__ import annotations

import pytest

from pipelines.syllables import count_syllables

# Words whose every CMUdict pronunciation has the same number of vowels, so the count is not a
# matter of accent. They cover silent e, syllabic -le, -ed/-es, y, vowel pairs that split or
# not, -tion/-sion/-cial, syncope, compounds and contractions.
CMUDICT_COUNTS = {
    "the": 1, "cat": 1, "dog": 1, "make": 1, "cake": 1, "time": 1, "home": 1, "smile": 1,
    "hope": 1, "stone": 1, "table": 2, "little": 2, "simple": 2, "people": 2, "apple": 2,
    "bottle": 2, "middle": 2, "candle": 2, "jumped": 1, "wanted": 2, "needed": 2, "loved": 1,
    "played": 1, "handled": 2, "started": 2, "looked": 1, "decided": 3, "created": 3,
    "boxes": 2, "horses": 2, "makes": 1, "houses": 2, "wishes": 2, "watches": 2, "changes": 2,
    "pages": 2, "goes": 1, "does": 1, "happy": 2, "very": 2, "city": 2, "baby": 2, "party": 2,
    "story": 2, "body": 2, "money": 2, "day": 1, "play": 1, "boy": 1, "toy": 1, "enjoy": 2,
    "they": 1, "rain": 1, "boat": 1, "read": 1, "tea": 1, "food": 1, "book": 1, "coin": 1,
    "cloud": 1, "idea": 3, "video": 3, "radio": 3, "piano": 3, "lion": 2, "quiet": 2,
    "science": 2, "create": 2, "area": 3, "museum": 3, "beautiful": 3, "education": 4,
    "animal": 3, "elephant": 3, "banana": 3, "hospital": 3, "computer": 3, "chocolate": 2,
    "information": 4, "university": 5, "school": 1, "friend": 1, "speech": 1, "therapy": 3,
    "fluency": 3, "stutter": 2, "repeat": 2, "sentence": 2, "minute": 2, "language": 2,
    "couldn't": 2, "don't": 1, "isn't": 2, "it's": 1, "I'm": 1, "you're": 1, "we've": 1,
    "they'll": 1, "wouldn't": 2, "nation": 2, "question": 2, "vision": 2, "special": 2,
    "social": 2, "musician": 3, "open": 2, "seven": 2, "given": 2, "eleven": 3, "listen": 2,
    "maybe": 2, "recipe": 3, "someone": 2, "something": 2, "nothing": 2, "anyone": 3,
    "everyone": 3, "lonely": 2, "statement": 2, "safety": 2, "rhythm": 2, "business": 2,
    "evening": 2, "orange": 2, "syllable": 3,
}  # fmt: skip


def test_counts_agree_with_cmudict_on_ordinary_words() -> None:
    wrong = {w: count_syllables(w) for w, n in CMUDICT_COUNTS.items() if count_syllables(w) != n}
    accuracy = 1 - len(wrong) / len(CMUDICT_COUNTS)
    assert len(CMUDICT_COUNTS) >= 60
    assert accuracy >= 0.95, f"{accuracy:.1%} exact; wrong: {wrong}"


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
