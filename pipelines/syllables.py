"""Syllable counts for transcribed words in the speech's language.

Rates and %SS are per syllable, so every word needs a count. German, Spanish, French and
Portuguese words are counted by ``pipelines.syllables_patterns``; English words by rule, without
a pronouncing dictionary, here. Another language has no count (``None``): a count by another
language's rules would be a guess.

English counts follow the CMU Pronouncing
Dictionary's first pronunciation (one syllable per vowel phoneme). The rules: vowel groups, y as
a vowel after a consonant, vowel pairs that are two syllables (hiatus: "idea", "video"), silent
final e against syllabic -le/-re, inflections (-ed, -es, -ing), silent-e suffixes and compounds,
contractions, digits read aloud and spelled acronyms, plus the common words the rules miss.
On the 5,000 most frequent English words in CMUdict this agrees with it about 99% of the time.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from pipelines.syllables_patterns import PATTERN_LANGUAGES, count_word

SYLLABLE_LANGUAGES = ("en", *PATTERN_LANGUAGES)
"""Languages whose syllables are counted; metrics of any other say the counts are unavailable."""

_VOWELS = frozenset("aeiou")

# fmt: off
_EXCEPTIONS: dict[str, int] = {
    # Syncope: a written vowel that is not spoken.
    "business": 2, "businessman": 3, "chocolate": 2, "evening": 2, "interest": 2,
    "interestingly": 4, "several": 2, "vegetable": 3, "temperature": 3, "especially": 3, "area": 3,
    "idea": 3, "laboratory": 4,
    # A pronounced final e or -ed that the rules would silence.
    "maybe": 2, "recipe": 3, "naked": 2, "wicked": 2, "beloved": 3, "crooked": 2, "rugged": 2,
    "ragged": 2, "wretched": 2, "simile": 3, "apostrophe": 4, "embed": 2, "catastrophe": 4,
    "karate": 3, "coyote": 3, "adobe": 3, "acne": 2, "hyperbole": 4, "cafe": 2, "finale": 3,
    "anime": 3, "psyche": 2, "bloodshed": 2, "watershed": 3, "element": 3, "elements": 3,
    "diabetes": 4, "herpes": 2,
    # Vowel pairs that split, or do not, against the hiatus rules.
    "creature": 2, "theater": 3, "theatre": 3, "science": 2, "scientist": 3, "scientific": 4,
    "quiet": 2, "quieter": 3, "diet": 2, "people": 2, "leopard": 2, "jeopardy": 3, "theory": 2,
    "fluid": 2, "ruin": 2, "genuine": 3, "soldier": 2, "cashier": 2, "museum": 3, "naive": 2,
    "deity": 3, "alien": 3, "suicide": 3, "ratio": 3, "nuclear": 3, "marriage": 2, "carriage": 2,
    "miscarriage": 3, "valuable": 3, "invaluable": 4, "behaviour": 3, "parliament": 3,
    "initiative": 4, "reliance": 3, "alliance": 3, "argue": 2, "genius": 2, "diamond": 2,
    "atheist": 3, "albeit": 3, "caveat": 3, "cereal": 3, "linear": 3,
    # Compounds whose inner silent e the group rules would count.
    "everything": 3, "everybody": 4, "everywhere": 3, "everyday": 3, "wherever": 3, "forever": 3,
    "moreover": 3, "nevertheless": 4, "takeover": 3, "timeout": 2, "thereof": 2,
    # Other common words.
    "our": 2, "hour": 2, "flour": 2, "hundred": 2, "colonel": 2, "choir": 2, "aisle": 1, "isle": 1,
    "wednesday": 2, "y'all": 1, "mhm": 2, "ok": 2, "mr": 2, "mrs": 2, "dr": 2, "vs": 2, "etc": 4,
}
# fmt: on

_FILLERS = re.compile(r"^(?:u+h*m+|u+h+|e+r+m*|e+h+m*|a+h+|h+m+|m{2,}|ä+h+m*|ö+h+m*|e+u+h+)$")
"""Filled pauses ("um", "uhh", "erm", "hmm", "mm", "euh", "ähm"): one syllable each."""

# fmt: off
_COMPOUND_HEADS = {"some": 1, "any": 2, "no": 1}
_COMPOUND_TAILS = {
    "one": 1, "body": 2, "thing": 1, "things": 1, "where": 1, "how": 1, "time": 1, "times": 1,
    "what": 1, "way": 1, "ways": 1, "place": 1, "more": 1,
}
"""some/any/no + one/body/thing…: CMUdict counts "any" as two and the rest as one each."""

_SILENT_E_HEADS = {
    "some": 1, "home": 1, "life": 1, "base": 1, "house": 1, "game": 1, "pipe": 1, "wide": 1,
    "side": 1, "spokes": 1, "guide": 1, "fore": 1, "care": 1, "time": 1, "name": 1, "state": 1,
    "stone": 1, "whole": 1, "note": 1, "safe": 1, "lime": 1, "nine": 1, "face": 1, "space": 1,
    "white": 1, "lake": 1, "bike": 1, "smoke": 1, "horse": 1, "grape": 1, "awe": 1, "frame": 1,
    "trade": 1, "share": 1, "stake": 1, "ware": 1, "line": 1, "grave": 1, "wave": 1, "drive": 1,
    "file": 1, "gate": 1, "eye": 1, "police": 2, "sales": 1, "store": 1, "score": 1, "fire": 1,
    "waste": 1, "ice": 1, "hope": 1, "blue": 1, "make": 1, "like": 1, "live": 1, "where": 1,
    "there": 1, "here": 1, "else": 1, "before": 2, "brace": 1, "mile": 1, "bore": 1,
}
"""First halves of compounds whose final e is silent inside the word ("homework")."""

_HIATUS_PREFIXES = (
    "reu", "reo", "reass", "react", "reaff", "reali", "readj", "reapp", "rearr", "reel", "reem",
    "reen", "reev", "reex", "preo", "preem", "preex", "proact", "coopera", "coord", "coe",
    "coinc", "coex", "coali", "deact", "deesc", "creat", "recreat", "geog", "geom", "geol",
    "geop", "socio",
)
"""Prefixes whose vowel starts a new syllable before the stem's vowel ("reuse", "coordinate")."""

_NOT_HIATUS = ("rein", "reins", "reign", "reigns", "reined")

_SILENT_E_SUFFIXES = (
    ("fully", 2), ("ness", 1), ("less", 1), ("ments", 1), ("ment", 1), ("ful", 1), ("ly", 1),
    ("ty", 1),
)
"""Suffixes that keep their stem's final e silent ("lonely", "statement", "safety")."""
# fmt: on

_ONES = (2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 3, 1, 2, 2, 2, 2, 3, 2, 2)
"""Syllables of zero..nineteen."""
_TENS = (0, 0, 2, 2, 2, 2, 2, 3, 2, 2)
"""Syllables of twenty..ninety by tens digit."""
_SCALES = ((10**12, 2), (10**9, 2), (10**6, 2), (1000, 2))
"""trillion, billion, million, thousand: two syllables each."""

_SYMBOLS = {"%": 2, "$": 2, "€": 2, "£": 2, "&": 1, "+": 1, "@": 1}
"""Symbols Whisper writes for spoken words: percent, dollars, euros, pounds, and, plus, at."""

_ORDINAL = re.compile(r"^(\d+)(st|nd|rd|th)$")
_DECADE = re.compile(r"^(\d+)'?s$")
_GROUPED_INT = re.compile(r"^\d{1,3}(?:,\d{3})+$")
_DECIMAL = re.compile(r"^(\d*)\.(\d+)$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_ACRONYM = re.compile(r"^[A-Z]{2,4}$")
_SILENT_E_COMPOUND = re.compile(
    "^(?P<head>{})(?P<tail>[^aeiour].{{2,}})$".format(
        "|".join(sorted(_SILENT_E_HEADS, key=len, reverse=True))
    )
)
_EDGE_PUNCTUATION = '.,;:!?"“”‘’()[]{}…—–*_~'


def speech_language(code: str | None) -> str:
    """A transcript's language as a bare lower-case code: "en-US" → "en", None → "unknown"."""
    if not code:
        return "unknown"
    return re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0] or "unknown"


@functools.lru_cache(maxsize=8192)
def count_syllables(word: str, language: str = "en") -> int | None:
    """Syllables in one transcribed word, as spoken; None for a language not in
    ``SYLLABLE_LANGUAGES``.

    Takes Whisper's tokens as they come: surrounding spaces and punctuation, any case,
    contractions, hyphenated compounds and stutter fragments ("b-but" counts what was said:
    2), digits ("1999" → nineteen ninety-nine → 5) and spelled acronyms ("FBI" → 3).
    Pure punctuation is 0; any other token is at least 1 (a fragment like "b-" is still an
    attempt at a syllable). Digits and symbols are read as in English in every language, an
    approximation: Whisper mostly writes numbers out in words.
    """
    if language not in SYLLABLE_LANGUAGES:
        return None
    token = unicodedata.normalize("NFKC", word).strip().strip(_EDGE_PUNCTUATION)
    token = token.replace("’", "'").strip("'")
    if not token:
        return 0
    symbols = sum(_SYMBOLS[c] for c in token if c in _SYMBOLS)
    token = "".join(c for c in token if c not in _SYMBOLS)
    if not token:
        return symbols
    if _ACRONYM.match(token):
        if language != "en":
            return symbols + len(token)
        return symbols + sum(3 if c == "W" else 1 for c in token)
    parts = [p for p in re.split(r"[-/]+", token) if p]
    if not parts:
        return symbols
    return max(symbols + sum(_count_part(p, language) for p in parts), 1)


def estimate_syllables(word: str) -> int:
    """A rough length in syllables for a word of any language: its groups of vowel letters
    (accents ignored), at least 1. For detection only ("a one-syllable word repeated"), never
    reported: it is no language's syllable count."""
    letters = unicodedata.normalize("NFKD", word.lower())
    return max(len(re.findall(r"[aeiouy]+", letters)), 1)


def _count_part(part: str, language: str) -> int:
    """One hyphen-free piece: a number, a word with digits, or a word."""
    if any(c.isdigit() for c in part):
        return _count_with_digits(part)
    if language == "en":
        return _count_word(part.lower())
    word = part.lower()
    return 1 if _FILLERS.match(word) else count_word(word, language)


def _count_with_digits(part: str) -> int:
    """Digits as they are read aloud; letters mixed in ("mp3") counted as words."""
    if m := _ORDINAL.match(part.lower()):
        return _ordinal(int(m.group(1)))
    if m := _DECADE.match(part):
        return _number(m.group(1))
    if _GROUPED_INT.match(part):
        return _number(part.replace(",", ""))
    if m := _DECIMAL.match(part):
        whole = _number(m.group(1)) if m.group(1) else 0
        return whole + 1 + sum(_ONES[int(d)] for d in m.group(2))  # "point", then each digit
    if m := _CLOCK.match(part):
        minutes = m.group(2)
        return _number(m.group(1)) + (2 if minutes == "00" else _number(minutes))  # o'clock
    return sum(
        _number(run) if run.isdigit() else _count_word(run.lower())
        for run in re.findall(r"\d+|[^\W\d]+", part)
    )


def _number(digits: str) -> int:
    """A digit string read as a year (1100–2099), digit by digit (leading 0), or a cardinal."""
    if (digits.startswith("0") and len(digits) > 1) or len(digits) > 15:
        return sum(_ONES[int(d)] for d in digits)
    n = int(digits)
    if len(digits) == 4 and (1100 <= n <= 1999 or 2010 <= n <= 2099):
        high, low = divmod(n, 100)
        if low == 0:
            return _cardinal(high) + 2  # "nineteen hundred"
        if low < 10:
            return _cardinal(high) + 1 + _ONES[low]  # "nineteen oh five"
        return _cardinal(high) + _cardinal(low)
    return _cardinal(n)


def _cardinal(n: int) -> int:
    """Syllables of n in American English words, without "and"."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + (_ONES[n % 10] if n % 10 else 0)
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + 2 + (_cardinal(rest) if rest else 0)  # "hundred"
    scale, syllables = next((s, c) for s, c in _SCALES if n >= s)
    rest = n % scale
    return _cardinal(n // scale) + syllables + (_cardinal(rest) if rest else 0)


def _ordinal(n: int) -> int:
    """Ordinals add a syllable for "second" and "-ieth" (twentieth); others keep the count."""
    last_two = n % 100
    if (last_two >= 20 and last_two % 10 == 0) or (n % 10 == 2 and last_two != 12):
        return _cardinal(n) + 1
    return _cardinal(n)


def _count_word(word: str) -> int:
    """A lower-case word, possibly with an apostrophe or accented letters."""
    if word in _EXCEPTIONS:
        return _EXCEPTIONS[word]
    if "'" in word:
        return _count_contraction(word)
    if _FILLERS.match(word):
        return 1
    pronounced_final_e = word.endswith("é")  # "café", "résumé"
    decomposed = unicodedata.normalize("NFKD", word)
    letters = "".join(c for c in decomposed if "a" <= c <= "z")
    if not letters:
        return 1
    if pronounced_final_e:
        return _count_letters(letters[:-1]) + 1
    return max(_count_letters(letters), 1)


def _count_contraction(word: str) -> int:
    """Clitics add a syllable only after the sounds that need one ("didn't", "it'll", "boss's")."""
    base, _, clitic = word.partition("'")
    if clitic == "t" and base.endswith("n"):
        stem = base[:-1]
        if stem and stem[-1] not in _VOWELS and stem[-1] != "y":
            return _count_word(stem) + 1
        return _count_word(base)
    if clitic == "ll" and base and base[-1] not in _VOWELS and base[-1] not in "yw":
        return _count_word(base) + 1
    if clitic == "s" and re.search(r"(?:[sxz]|ch|sh|[cgsz]e)$", base):
        return _count_word(base) + 1
    if clitic == "d" and base.endswith(("t", "d")):
        return _count_word(base) + 1
    if clitic in {"s", "ll", "ve", "re", "d", "m"}:
        return _count_word(base)
    return sum(_count_word(p) for p in word.split("'") if p)


def _count_letters(word: str) -> int:
    """A plain a–z word: derivational suffixes and inflections first, then its base."""
    if word in _EXCEPTIONS:
        return _EXCEPTIONS[word]
    for head, head_count in _COMPOUND_HEADS.items():
        tail = word[len(head) :]
        if word.startswith(head) and tail in _COMPOUND_TAILS:
            return head_count + _COMPOUND_TAILS[tail]
    if word.endswith("ically") and len(word) > 7:
        return _count_base(word[:-4]) + 1  # "-ically" is said "-ic-ly"
    if word.endswith("edly") and len(word) > 6:
        return _count_base(word[:-4]) + 2  # "supposedly": the e of -ed is spoken here
    for suffix, suffix_count in _SILENT_E_SUFFIXES:
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and re.search(r"[aeiouy].*[^aeiouy]e$", stem):
            return _count_letters(stem) + suffix_count
    if word.endswith("ing") and len(word) > 4 and _has_vowel(word[:-3]):
        return _count_base(word[:-3]) + 1
    if word.endswith("ed") and len(word) > 3 and _has_vowel(word[:-2]):
        return _count_past(word)
    if word.endswith("es") and len(word) > 3 and re.search(r"(?:[sxz]|ch|sh)es$", word):
        return _count_base(word[:-2]) + 1
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        stem = word[:-1]
        return _count_letters(stem) + (1 if re.search(r"[cgsz]e$", stem) else 0)
    return _count_base(word)


def _count_past(word: str) -> int:
    """-ed is a syllable only after t or d; "-bled", "-tled" keep their syllabic l."""
    if word.endswith("eed") or re.search(r"(?:[^aeiou]|qu)ired$", word):
        return _count_base(word[:-1])  # "agreed", "tired": the base word plus d
    stem = word[:-2]
    if stem.endswith(("t", "d")):
        return _count_base(stem) + 1
    syllabic_l = 1 if re.search(r"[^aeiouylrw]l$", stem) else 0
    return _count_base(stem) + syllabic_l


def _count_base(word: str) -> int:
    """A word without inflections: known words, compounds, then vowel groups."""
    if word in _EXCEPTIONS:
        return _EXCEPTIONS[word]
    compound = _SILENT_E_COMPOUND.match(word)
    if compound and _has_vowel(compound["tail"]):
        return _SILENT_E_HEADS[compound["head"]] + _count_letters(compound["tail"])
    count = _vowel_groups(word)
    if word.startswith(_HIATUS_PREFIXES) and not word.startswith(_NOT_HIATUS):
        count += 1
    if re.search(r"[aeiouy](?:s|th)m$", word):
        count += 1  # syllabic m: "racism", "rhythm"
    return max(count, 1)


def _has_vowel(text: str) -> bool:
    return any(c in _VOWELS for c in text) or "y" in text[1:]


def _is_vowel(word: str, i: int) -> bool:
    """y is a vowel except word-initially or after a vowel ("you", "player")."""
    c = word[i]
    if c in _VOWELS:
        return True
    return c == "y" and i > 0 and word[i - 1] not in _VOWELS


def _vowel_groups(word: str) -> int:
    """Vowel groups, plus hiatus splits, minus a silent final e or -que/-gue."""
    count = 0
    i = 0
    while i < len(word):
        if not _is_vowel(word, i):
            i += 1
            continue
        j = i
        while j < len(word) and _is_vowel(word, j):
            j += 1
        count += 1 + sum(_splits(word, k) for k in range(i, j - 1))
        i = j
    if _silent_final_e(word) or (len(word) > 4 and word.endswith(("que", "gue"))):
        count -= 1
    return count


def _splits(word: str, k: int) -> bool:
    """Whether the vowel pair at k is two syllables ("idea", "video", "actual", "stadium")."""
    pair = word[k : k + 2]
    prev = word[k - 1] if k > 0 else ""
    after = word[k + 2 :]
    if prev == "q" and pair[0] == "u":
        return False  # the u of "qu" is a consonant
    if pair == "ui":
        return after.startswith(("ty", "ti"))  # "ambiguity", "intuition"; "fruit", "build"
    if prev == "g" and pair[0] == "u" and pair != "uo":
        return False  # "language", "guess"; but "ambiguous"
    if pair[0] == "i" and k >= 2 and word[k - 2] in "aeioul" and prev in {"l", "n", "v"}:
        glide = (pair in {"io", "ia"} and after[:1] in {"r", "n"}) or (
            pair == "ie" and after[:1] == "n"
        )
        if glide:
            return False  # "senior", "brilliant", "convenient": a y-glide, not a syllable
    if pair in {"iu", "ii", "ao", "uo", "ua"}:
        return True
    if pair in {"oi", "ai"}:
        return after in {"c", "sm"}  # "heroic", "mosaic", "heroism"
    if pair == "ia":
        return prev not in {"c", "t", "s"} or after.startswith("t")  # "social", "associate"
    if pair == "io":
        return prev not in {"t", "s", "c", "x", "g", "h"} and not (
            after[:1] == "n" and word[max(k - 2, 0) : k] == "ll"
        )  # -tion, -sion, -cious, -shion, -gion, -llion are one syllable
    if pair == "eo":
        return prev not in {"g", "c"}  # "video", but "pigeon", "ocean"
    if pair == "ue":
        return bool(after) and after[0] not in "sd"  # "fuel", "cruel", but "blues"
    if pair == "oe":
        return k > 0 and after[:1] in {"m", "t", "v"}  # "poem", "poet", "whoever"
    if pair == "ie":
        return _splits_ie(word, k)
    return False


def _splits_ie(word: str, k: int) -> bool:
    """Comparatives, -iety, -ieth split ("easier", "society", "twentieth"); "field" does not."""
    prev = word[k - 1] if k > 0 else ""
    after = word[k + 2 :]
    if after in {"ty", "th"}:
        return True
    if k == 0 or prev in {"c", "t"}:
        return False
    if after in {"r", "st", "rs"} and k >= 3:
        return True
    return after.startswith(("nc", "nt"))


def _silent_final_e(word: str) -> bool:
    """A final e that is its own vowel group is silent, except syllabic -le/-re/-ire and "the"."""
    if not word.endswith("e") or len(word) < 3:
        return False
    if _is_vowel(word, len(word) - 2):
        return False
    if word.endswith("le") and word[-3] not in _VOWELS and word[-3] not in {"l", "y"}:
        return False
    if word.endswith("re") and word[-3] not in _VOWELS and word[-3] not in {"r", "y"}:
        return False
    if re.search(r"(?:[^aeiou]|qu)ire$", word):
        return False  # "fire", "tire": CMUdict counts the r-coloured schwa
    return any(_is_vowel(word, i) for i in range(len(word) - 2))
