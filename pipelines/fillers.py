"""Filled pauses ("um", "uh", "er") as whisper spells them: one definition for the detectors."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_FILLER = re.compile(
    r"^(?:u+h*m+|u+h+|u+r+m+|e+r+m*|e+h+m*|a+h+m*|h+m+|m{2,}|ä+h+m*|ö+h+m*|e+u+h+)$"
)
"""Filled pauses as Whisper spells them (um, umm, uh, uhm, urm, er, erm, eh, ah, ahm, hmm, mm,
äh, ähm, euh).
Only single words match: backchannels such as "uh-huh", "mm-hmm" and "mhm" mean yes."""
_HUM = re.compile(r"^(?:h*m{2,}|h+m+)$")
"""The fillers that are a held nasal (mm, mmm, hmm): also how whisper writes a drawn-out "m",
"n", "v" or "w" at the start of a word."""

_BACKCHANNEL = re.compile(r"^(?:m+-?h+m+|u+h*-h+u+h+)$")
"""Backchannels meaning yes (mm-hmm, m-hm, mhm, uh-huh): words, not filled pauses, however long
they are drawn out."""

FILLER_RUN_GAP_S = 0.5
"""The same filler written again within this of the one before, no word between, is one filled
pause with it (or, written again and again, a decoder loop: ``FILLER_LOOP``)."""

FILLER_LOOP = 6
"""Copies of one filler written in a row (``filler_runs``: no word between, each within 0.5 s of
the one before) that are a decoder loop, not a speaker's hesitation ("uh, uh, uh"): under
GENERIC kernels batched decoding wrote "ahh..." twelve times in 2.2 s over "mmmmy glasses under
the sofa cushion", too few among the 30 words around them for the compression test
(``pipelines.coverage.LOOP_RATIO``) to see. Decoded again, that stretch came back "I finally
found my glasses under the sofa cushion." No run of more than three identical fillers occurs in
the labelled disfluency sessions decoded natively, nor in the fluent long recordings."""


def normalise(raw: str) -> str:
    """A word in lower case with edge punctuation and dashes removed; inner ones kept."""
    text = unicodedata.normalize("NFKC", raw).lower().replace("’", "'")
    return text.strip(" \t\"'“”‘()[]{}.,;:!?…*_~-‐–—")


def is_filler(raw: str) -> bool:
    """Whether a transcribed word is a filled pause."""
    return bool(_FILLER.match(normalise(raw)))


def is_hum(raw: str) -> bool:
    """Whether a transcribed word is a held nasal ("mmm", "hmm")."""
    return bool(_HUM.match(normalise(raw)))


def is_backchannel(raw: str) -> bool:
    """Whether a transcribed word is a backchannel that means yes ("mm-hmm", "uh-huh")."""
    return bool(_BACKCHANNEL.match(normalise(raw)))


def backchannel_half(before: str, raw: str) -> bool:
    """Whether ``raw`` is the second half of a backchannel whose first half is ``before``:
    whisper sometimes writes "Mm-hmm." as "Mm" and "-hmm." (a real podcast clip of SEP-28k:
    "Mm -hmm. When you were younger..."), which read word by word would be two filled pauses
    where the speaker said one "yes"."""
    return raw.lstrip().startswith(("-", "‐")) and is_backchannel(
        f"{normalise(before)}-{normalise(raw)}"
    )


def filler_runs(words: Sequence[tuple[str, float, float]]) -> list[tuple[int, int]]:
    """The first and last index of each run of one filler in ``words`` (text, start and end,
    in time order): the same filler written again with no word between, each copy within
    ``FILLER_RUN_GAP_S`` of the one before. A filler on its own is a run of one."""
    runs: list[tuple[int, int]] = []
    first = 0
    while first < len(words):
        text = words[first][0]
        if not is_filler(text):
            first += 1
            continue
        said, last = normalise(text), first
        while (
            last + 1 < len(words)
            and normalise(words[last + 1][0]) == said
            and words[last + 1][1] - words[last][2] < FILLER_RUN_GAP_S
        ):
            last += 1
        runs.append((first, last))
        first = last + 1
    return runs


def filler_loops(words: Sequence[tuple[str, float, float]]) -> list[tuple[int, int]]:
    """The first and last index of each run of ``FILLER_LOOP`` or more copies of one filler in
    ``words`` (as ``filler_runs`` reads them): a decoder loop."""
    return [(first, last) for first, last in filler_runs(words) if last - first + 1 >= FILLER_LOOP]
