"""Merge per-chunk transcripts into one transcript of the whole recording.

Neighbouring chunks overlap, so both may transcribe the words said there. The middle of each
overlap is the seam: a word belongs to the chunk its midpoint falls on. The two chunks time the
same word slightly differently, and only one of them may hear a word cut by a chunk edge, so
each seam is then checked: every word heard there is kept exactly once.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

from pipelines.chunking import Chunk
from pipelines.types import (
    ChunkTranscript,
    Segment,
    Transcript,
    Word,
    joined_text,
    millisecond,
)

MIXED = "mixed"
"""``backend`` / ``model`` of a transcript whose chunks disagree (e.g. after a fallback)."""

_SAME_WORD_OVERLAP = 0.5
"""Two timings of one word share at least this fraction of the shorter; the two words of a
repetition ("my my") share at most timing jitter, so they stay two words."""

_Placed = tuple[int, Word]
"""A word in recording time, with the index of its segment in its chunk's transcript."""


def merge_chunks(chunks: Sequence[Chunk], results: Sequence[ChunkTranscript]) -> Transcript:
    """Offset each chunk's times by its start, drop the overlap's duplicates and empty segments.

    ``results[i]`` is the transcript of ``chunks[i]``. With word times, a segment keeps its
    words that belong to its chunk and its text and times are rebuilt from them; without them
    it is kept or dropped whole by its midpoint.
    """
    if not chunks or len(chunks) != len(results):
        raise ValueError("need one result per chunk, and at least one chunk")
    pairs = sorted(zip(chunks, results, strict=True), key=lambda pair: pair[0].start_s)
    seams = [(a.end_s + b.start_s) / 2 for (a, _), (b, _) in pairwise(pairs)]
    bounds = [-math.inf, *seams, math.inf]
    placed = [_placed_words(chunk, result) for chunk, result in pairs]
    keep = [
        [low <= w.middle < high for _, w in words]
        for words, low, high in zip(placed, bounds, bounds[1:], strict=False)
    ]
    for i, seam in enumerate(seams):
        _reconcile_seam(placed[i], keep[i], placed[i + 1], keep[i + 1], seam)
    segments: list[Segment] = []
    for i, (chunk, result) in enumerate(pairs):
        kept: defaultdict[int, list[Word]] = defaultdict(list)
        for (index, word), wanted in zip(placed[i], keep[i], strict=True):
            if wanted:
                kept[index].append(word)
        for index, segment in enumerate(result.segments):
            if segment.words:
                merged = Segment.from_words(kept[index]) if kept[index] else None
            else:
                merged = _wordless(segment, chunk.start_s, bounds[i], bounds[i + 1])
            if merged is not None:
                segments.append(merged)
    return Transcript(
        text=joined_text(s.text for s in segments),
        language=Counter(r.language for _, r in pairs).most_common(1)[0][0],
        backend=_common(r.backend for _, r in pairs),
        model=_common(r.model for _, r in pairs),
        segments=tuple(segments),
        chunks=tuple(_chunk_info(c, r) for c, r in pairs),
    )


def _placed_words(chunk: Chunk, result: ChunkTranscript) -> list[_Placed]:
    offset = chunk.start_s
    return [
        (index, w.placed(offset))
        for index, segment in enumerate(result.segments)
        for w in segment.words
        if w.word.strip()
    ]


def _reconcile_seam(
    before: list[_Placed],
    keep_before: list[bool],
    after: list[_Placed],
    keep_after: list[bool],
    seam: float,
) -> None:
    """Fix what the midpoint rule gets wrong at one seam, in ``keep_before``/``keep_after``.

    A word both chunks heard, timed either side of the seam, is kept once. A word only one
    chunk heard is kept wherever it was timed: whisper stretches a chunk's first word back
    into the silence before it, so its midpoint can fall before the seam.
    """
    split_before = bisect_left([w.middle for _, w in before], seam)
    split_after = bisect_left([w.middle for _, w in after], seam)
    if 0 < split_before and split_after < len(after):
        if _same_word(before[split_before - 1][1], after[split_after][1]):
            keep_after[split_after] = False
    if split_before < len(before) and 0 < split_after:
        if _same_word(before[split_before][1], after[split_after - 1][1]):
            keep_before[split_before] = True
    for j in range(split_before, len(before)):
        if not any(_overlap(before[j][1], w) for _, w in after):
            keep_before[j] = True
    for k in range(split_after):
        if not any(_overlap(after[k][1], w) for _, w in before):
            keep_after[k] = True


def _overlap(a: Word, b: Word) -> bool:
    return a.start < b.end and b.start < a.end


def _same_word(a: Word, b: Word) -> bool:
    shared = min(a.end, b.end) - max(a.start, b.start)
    shorter = min(a.end - a.start, b.end - b.start)
    return _normal(a.word) == _normal(b.word) and shared >= _SAME_WORD_OVERLAP * shorter


def _normal(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def _wordless(segment: Segment, offset: float, low: float, high: float) -> Segment | None:
    """A segment without word times, moved by ``offset``, if its middle lies in its chunk."""
    text = " ".join(segment.text.split())
    start, end = segment.start + offset, segment.end + offset
    if not text or not low <= (start + end) / 2 < high:
        return None
    return Segment(start=millisecond(start), end=millisecond(end), text=text)


def _common(values: Iterable[str]) -> str:
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else MIXED


def _chunk_info(chunk: Chunk, result: ChunkTranscript) -> dict[str, Any]:
    info: dict[str, Any] = {
        "index": chunk.index,
        "start": chunk.start_s,
        "end": chunk.end_s,
        "backend": result.backend,
        "model": result.model,
    }
    if result.node_id is not None:
        info["node_id"] = result.node_id
    return info
