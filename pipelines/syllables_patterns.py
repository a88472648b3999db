"""Syllable counts for German, Spanish, French and Portuguese words.

A syllable is a vowel nucleus, so the count is the number of vowel groups plus the places
inside a group where one nucleus ends and the next begins (hiatus). Where the spelling shows
the hiatus (Spanish and Portuguese written accents and open/closed vowels, French ë, ï, é),
each language's rules decide. Where it does not (German "Fe-ri-en" against "Fa-mi-lie",
"The-a-ter", "Mu-se-um"), LibreOffice's hyphenation patterns (pyphen, edge minimums 1) do:
a pattern break inside a vowel group is a hiatus unless the pair is one German always says as
one nucleus (doubled vowels: the patterns write "I-de-e").

Conventions counted: German, Spanish and Portuguese, the dictionary syllables (Duden; RAE,
where "guion" and "ciudad" keep their diphthong; Houaiss and Priberam, where unstressed final
"-ia", "-io" are two syllables: "his-tó-ri-a", "ri-o", and nasal "ão", "ãe", "õe" one).
French, the syllables of standard spoken French: a final mute e ("-e", "-es", verbal "-ent")
is not counted ("table" 1, "parlent" 1, "école" 2), an inner one is ("petite" 2), and i, u,
ou before a vowel are glides ("nation" 2, "nuit" 1, "jouer" 1) except after a consonant
followed by l or r ("crier" 2, "client" 2).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import pyphen

PATTERN_LANGUAGES = ("de", "es", "fr", "pt")

_PYPHEN_LOCALES = {"de": "de_DE"}
"""Languages whose hiatus the patterns decide. Spanish and Portuguese spelling shows it (accents,
open against closed vowels) and French rules below cover it; their patterns break no vowel
group the rules do not already split ("poeta", "école" come back whole), so they are not read."""
_VOWELS = {
    "de": frozenset("aeiouyäöü"),
    "es": frozenset("aeiouáéíóúü"),
    "fr": frozenset("aeiouyàâäéèêëîïôöùûüÿœæ"),
    "pt": frozenset("aeiouáéíóúâêôãõàü"),
}


@functools.cache
def _hyphenator(language: str) -> pyphen.Pyphen:
    return pyphen.Pyphen(lang=_PYPHEN_LOCALES[language], left=1, right=1)


def count_word(word: str, language: str) -> int:
    """Syllables of one lower-case word without digits or hyphens; at least 1."""
    letters = word.replace("'", "").replace("’", "")
    if not letters:
        return 1
    if language == "fr" and letters in _FRENCH_WORDS:
        return _FRENCH_WORDS[letters]
    breaks = set(_hyphenator(language).positions(letters)) if language in _PYPHEN_LOCALES else set()
    end = _french_spoken_end(letters) if language == "fr" else len(letters)
    vowel = _VOWEL_TESTS[language]
    count = 0
    previous = False
    for k in range(end):
        current = vowel(letters, k)
        if current and not previous:
            count += 1
        elif current and previous and _SPLITS[language](letters, k - 1, k in breaks):
            count += 1
        previous = current
    return max(count, 1)


# --- Which letters are vowels here -----------------------------------------------------


def _german_vowel(word: str, k: int) -> bool:
    return word[k] in _VOWELS["de"] and not (word[k] == "u" and k > 0 and word[k - 1] == "q")


def _spanish_vowel(word: str, k: int) -> bool:
    c = word[k]
    if c == "y":
        return len(word) == 1 or (k == len(word) - 1 and word[k - 1] in _VOWELS["es"])
    if c == "u" and k > 0 and k + 1 < len(word):
        after_q = word[k - 1] == "q"
        after_g = word[k - 1] == "g" and word[k + 1] in "eiéí"
        if after_q or after_g:
            return False  # "que", "guitarra": a spelling u, not a sound
    return c in _VOWELS["es"]


def _portuguese_vowel(word: str, k: int) -> bool:
    c = word[k]
    if c == "u" and 0 < k < len(word) - 1 and word[k - 1] in "qg" and word[k + 1] in _VOWELS["pt"]:
        return False  # "que", "quando", "água": u before a vowel after q/g is a glide or silent
    return c in _VOWELS["pt"]


def _french_vowel(word: str, k: int) -> bool:
    c = word[k]
    if c == "y" and k == 0 and len(word) > 1 and word[1] in _VOWELS["fr"]:
        return False  # "yeux", "yaourt": a consonant y
    if c == "u" and k > 0 and k + 1 < len(word) and word[k + 1] in _VOWELS["fr"]:
        if word[k - 1] == "q" or (word[k - 1] == "g" and word[k + 1] in "eiéèêy"):
            return False  # "quatre", "guerre"
    if c == "e" and k > 0 and word[k - 1] == "g" and k + 1 < len(word) and word[k + 1] in "aoâô":
        return False  # "mangeons", "Georges": e only softens the g
    return c in _VOWELS["fr"]


_VOWEL_TESTS: dict[str, Callable[[str, int], bool]] = {
    "de": _german_vowel,
    "es": _spanish_vowel,
    "fr": _french_vowel,
    "pt": _portuguese_vowel,
}

# --- Whether the vowel pair at k, k+1 is two syllables --------------------------------

_GERMAN_ONE_NUCLEUS = frozenset({"ei", "ey", "ai", "ay", "au", "eu", "äu", "ie", "ee", "aa", "oo"})
_GERMAN_LONG_VOWELS = frozenset({"ee", "aa", "oo"})
"""Doubled vowels are one long vowel even where the patterns break them ("I-de-e")."""


def _german_split(word: str, k: int, pattern_break: bool) -> bool:
    pair = word[k : k + 2]
    if pair in _GERMAN_LONG_VOWELS:
        return False
    return pattern_break or pair not in _GERMAN_ONE_NUCLEUS


_SPANISH_STRONG = frozenset("aeoáéóíú")
"""Open vowels, and i/u carrying an accent: two of them are a hiatus ("poeta", "día")."""


def _spanish_split(word: str, k: int, pattern_break: bool) -> bool:
    return word[k] in _SPANISH_STRONG and word[k + 1] in _SPANISH_STRONG


_PORTUGUESE_NASAL = frozenset({"ão", "ãe", "õe"})
_PORTUGUESE_HIATUS_BEFORE = re.compile(r"^(?:nh|[mn][^aeiouáéíóúâêôãõ]|[rlz](?:$|[^aeiouh]))")
"""An unstressed i/u after a vowel is its own syllable before these ("a-in-da", "ca-ir")."""


def _portuguese_split(word: str, k: int, pattern_break: bool) -> bool:
    first, second = word[k], word[k + 1]
    if first + second in _PORTUGUESE_NASAL:
        return False
    if second in "iu":
        return bool(_PORTUGUESE_HIATUS_BEFORE.match(word[k + 2 :]))  # "muito", "pai", "ideia"
    return True  # "ri-o", "po-e-ta", "sa-ú-de", "vo-o"


_FRENCH_SPLIT_BEFORE = frozenset("ëïüéèê")


def _french_split(word: str, k: int, pattern_break: bool) -> bool:
    first, second = word[k], word[k + 1]
    if first == "y":
        return True  # "voyage", "crayon", "payer": y is the end of one syllable and a glide
    if first + second == "ui":
        return False  # "nuit", "pluie": [ɥi] stays one syllable
    if first in "iu":
        # A glide ("nation", "bien", "jouer") unless a consonant + l/r comes before it.
        start = k - 1 if first == "u" and k > 0 and word[k - 1] == "o" else k
        return start >= 2 and word[start - 1] in "lr" and word[start - 2] not in _VOWELS["fr"]
    if second in _FRENCH_SPLIT_BEFORE or first in "éè":
        return True  # "poète", "naïf", "théâtre", "réunion", "aéroport"
    return first + second in {"ao", "oa"}  # "chaos", "coalition"; "ai", "au", "eu", "oi" join


_SPLITS: dict[str, Callable[[str, int, bool], bool]] = {
    "de": _german_split,
    "es": _spanish_split,
    "fr": _french_split,
    "pt": _portuguese_split,
}

# --- French final mute e ----------------------------------------------------------------

_FRENCH_SPOKEN_ENT = frozenset(
    "souvent argent parent content accent présent absent président accident dent cent vent lent"
    " agent talent évident différent urgent récent client patient serpent intelligent excellent"
    " violent fréquent prudent innocent adolescent orient".split()
)
"""Nouns, adjectives and adverbs whose final -ent is said [ɑ̃]; elsewhere it is a verb ending."""
_FRENCH_WORDS = {"pays": 2, "paysage": 3, "paysan": 3, "paysanne": 3, "abbaye": 3}
"""Words whose y is two vowels ([pe.i]), not one and a glide."""
_FRENCH_MUTE_MENT = frozenset({"aiment", "dorment", "ferment", "sèment"})
"""Verbs in -ment; other words in -ment are adverbs and nouns ("vraiment", "moment")."""


def _french_spoken_end(word: str) -> int:
    """Where the spoken word ends: before a final mute "-e", "-es" or verbal "-ent"."""
    for ending in ("ent", "es", "e"):
        if not word.endswith(ending):
            continue
        if ending == "ent" and (
            word in _FRENCH_SPOKEN_ENT or (word.endswith("ment") and word not in _FRENCH_MUTE_MENT)
        ):
            return len(word)
        stem = word[: -len(ending)]
        if any(_french_vowel(stem, i) for i in range(len(stem))):
            return len(stem)
        return len(word)
    return len(word)
