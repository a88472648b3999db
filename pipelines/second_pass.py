"""A second, targeted decoding for the fillers whisper smooths away.

At natural pace whisper's language model turns a short filler into a word it finds likelier:
"So uh the meeting" comes back "So I'm a meeting", "erm the keys" as "I'm looking". The word it
wrote instead is one it was unsure of. Each stretch around such a word (probability below
``SUSPECT_PROBABILITY``; ``SUSPECT_CONTEXT_S`` either side, neighbours joined) is decoded again
with a prompt full of fillers (``FILLER_PROMPT``): whisper writes what its prompt looks like, so
now it writes the filler it heard. A prompt also makes whisper copy fillers that were never
said, so a filler from this pass is kept only where the first pass leaves room for it: over a
word the first pass was unsure of, or over voiced audio no first-pass word covers, and with no
filler already written nearby (``supported_fillers``). It becomes evidence for the interjection
detector (``pipelines.metrics``), not a word of the transcript: the transcript stays what the
first pass wrote.

English only: the prompt and the filler spellings are English.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pipelines.alignment import FRAME_S
from pipelines.fillers import is_filler
from pipelines.types import SAMPLE_RATE, SendSpan, Span, TranscriptionOptions, Word

FILLER_PROMPT = "Um, so, uh, we were, er, thinking that, erm, ah, we could, uh, go, um, there."
"""Fillers in every spelling the detector reads, around ordinary words, and no repetition:
a repeated word in the prompt gets copied into fluent speech."""
SUSPECT_PROBABILITY = 0.5
"""A first-pass word below this probability may be a filler written as a word."""
SUSPECT_CONTEXT_S = 1.0
"""Audio decoded either side of a suspect word, so whisper hears it in its phrase."""
ROOM_S = 0.2
"""How far a second-pass filler may sit from the first-pass word it stands for (their times
are both whisper's and loose)."""
NEARBY_FILLER_S = 0.5
"""A first-pass filler this close already accounts for a second-pass one."""
MIN_VOICED = 0.3
"""Share of voiced frames around a filler that falls between first-pass words."""


@dataclass(frozen=True, slots=True)
class HeardFiller:
    """A filler the second pass wrote where the first pass wrote something else or nothing."""

    start: float
    end: float
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "text": self.text}


@dataclass(frozen=True, slots=True)
class SecondPass:
    """What the second pass decoded and found."""

    windows: tuple[Span, ...]
    fillers: tuple[HeardFiller, ...]


def suspect_windows(words: Sequence[Word], duration_s: float) -> list[Span]:
    """Stretches around first-pass words whisper was unsure of, joined where they touch."""
    windows: list[Span] = []
    for word in words:
        if word.probability >= SUSPECT_PROBABILITY or is_filler(word.word):
            continue
        start = max(0.0, word.start - SUSPECT_CONTEXT_S)
        end = min(duration_s, word.end + SUSPECT_CONTEXT_S)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], end))
        else:
            windows.append((start, end))
    return windows


def supported_fillers(
    first: Sequence[Word], second: Sequence[Word], voiced: np.ndarray
) -> list[HeardFiller]:
    """The fillers of ``second`` the first pass leaves room for (module docstring)."""
    kept: list[HeardFiller] = []
    for word in second:
        if not is_filler(word.word):
            continue
        start, end = word.start, max(word.end, word.start + FRAME_S)
        if any(
            is_filler(w.word)
            and w.start < end + NEARBY_FILLER_S
            and start < w.end + NEARBY_FILLER_S
            for w in first
        ) or any(start < k.end + NEARBY_FILLER_S and k.start < end + NEARBY_FILLER_S for k in kept):
            continue
        under = [w for w in first if w.start < end + ROOM_S and start < w.end + ROOM_S]
        if under:
            supported = any(w.probability < SUSPECT_PROBABILITY for w in under)
        else:
            frames = voiced[int((start - ROOM_S) / FRAME_S) : int((end + ROOM_S) / FRAME_S) + 1]
            supported = bool(len(frames)) and float(np.mean(frames)) >= MIN_VOICED
        if supported:
            kept.append(HeardFiller(start=start, end=end, text=word.word.strip(" ,.?!")))
    return kept


async def second_pass(
    samples: int,
    words: Sequence[Word],
    voiced: np.ndarray,
    options: TranscriptionOptions,
    send: SendSpan,
) -> SecondPass:
    """Decode the suspect stretches of a recording of ``samples`` again with ``FILLER_PROMPT``
    (through ``send``) and keep the supported fillers."""
    windows = suspect_windows(words, samples / SAMPLE_RATE)
    prompted = replace(options, prompt=FILLER_PROMPT, word_timestamps=True)
    results = await asyncio.gather(*(_decode(window, prompted, send) for window in windows))
    fillers: list[HeardFiller] = []
    for window, second in zip(windows, results, strict=True):
        first = [w for w in words if window[0] <= (w.start + w.end) / 2 <= window[1]]
        fillers.extend(supported_fillers(first, second, voiced))
    return SecondPass(windows=tuple(windows), fillers=tuple(fillers))


async def _decode(window: Span, options: TranscriptionOptions, send: SendSpan) -> list[Word]:
    start = round(window[0] * SAMPLE_RATE)
    result = await send(start, round(window[1] * SAMPLE_RATE), options)
    offset = start / SAMPLE_RATE
    return [
        Word(w.word.strip(), w.start + offset, w.end + offset, w.probability)
        for segment in result.segments
        for w in segment.words
        if w.word.strip()
    ]
