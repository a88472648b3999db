"""Split a recording into overlapping chunks, cut in pauses, for parallel transcription.

Whisper pads every window to 30 s, so a chunk's encoder cost is a whole number of windows:
a 91 s chunk costs as much encoding as a 120 s one. Chunks therefore aim just under four
windows (``target_s`` 115 s; the 5 s of slack absorbs whisper's window drift). The local backend
decodes a chunk's windows as one batch, so longer chunks cost less per second of audio and make
fewer seams, while 10 minutes still gives six chunks to spread over replicas (measured in the
README's "Tuning figures"). Each cut goes where the signal is quietest in the ``search_s``
before the target, preferring the middle of a real pause, so few words straddle a
cut; chunks overlap by ``overlap_s`` around it and the merge keeps each word once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.types import SAMPLE_RATE, AudioArray, AudioSource, audio_source, runs

_FRAME_S = 0.03
"""Short-time energy frame: shorter than a pause, longer than a pitch period."""
_PAUSE_S = 0.3
"""Energy is averaged over this span, so a cut lands in a pause, not a stop consonant."""
_QUIET_MARGIN_DB = 1.0
"""Frames within this of the quietest count as the same pause; the cut is its middle."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """A span of the recording, in seconds from its start."""

    index: int
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def chunk_plan(
    audio: AudioArray | AudioSource,
    *,
    sample_rate: int = SAMPLE_RATE,
    target_s: float = 115.0,
    max_s: float = 120.0,
    overlap_s: float = 1.0,
    search_s: float = 10.0,
) -> list[Chunk]:
    """Plan chunks for ``audio``: one chunk if it lasts at most ``max_s``, else cut it.

    Each chunk but the last ends between ``target_s - search_s`` and ``target_s`` after its
    start, ``overlap_s / 2`` past the quietest point of that window, where the next chunk starts
    ``overlap_s / 2`` before it. The last chunk takes the rest, at most ``max_s``. Only the
    search windows are read.
    """
    if not _PAUSE_S <= search_s < target_s - overlap_s or overlap_s < 0 or target_s > max_s:
        raise ValueError(
            f"need {_PAUSE_S} <= search_s < target_s - overlap_s, overlap_s >= 0, target_s <= max_s"
        )
    source = audio_source(audio)
    total = source.samples
    half_overlap = round(overlap_s * sample_rate / 2)
    chunks: list[Chunk] = []
    start = 0
    while total - start > max_s * sample_rate:
        search_end = start + round(target_s * sample_rate) - half_overlap
        search_start = search_end - round(search_s * sample_rate)
        cut = search_start + _quietest_sample(source.read(search_start, search_end), sample_rate)
        chunks.append(_chunk(len(chunks), start, cut + half_overlap, sample_rate))
        start = cut - half_overlap
    chunks.append(_chunk(len(chunks), start, total, sample_rate))
    return chunks


def chunk_audio(
    audio: AudioArray | AudioSource, chunk: Chunk, *, sample_rate: int = SAMPLE_RATE
) -> AudioArray:
    """The samples of ``chunk`` (of an array: a view, not a copy)."""
    start, end = round(chunk.start_s * sample_rate), round(chunk.end_s * sample_rate)
    return audio_source(audio).read(start, end)


def _chunk(index: int, start: int, end: int, sample_rate: int) -> Chunk:
    return Chunk(index=index, start_s=start / sample_rate, end_s=end / sample_rate)


def _quietest_sample(window: AudioArray, sample_rate: int) -> int:
    """Offset in ``window`` of the middle of its quietest pause (lowest smoothed RMS in dB)."""
    frame = max(1, round(_FRAME_S * sample_rate))
    frames = window[: len(window) // frame * frame].reshape(-1, frame).astype(np.float64)
    level_db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-10)
    span = max(1, min(len(level_db), round(_PAUSE_S / _FRAME_S)))
    smoothed = np.convolve(level_db, np.ones(span) / span, mode="valid")
    quiet = smoothed <= smoothed.min() + _QUIET_MARGIN_DB
    first, last = _longest_run(quiet)
    centre_frame = (first + last) / 2 + (span - 1) / 2
    return round((centre_frame + 0.5) * frame)


def _longest_run(mask: np.ndarray) -> tuple[int, int]:
    """First and last index of the longest run of True in ``mask`` (which has at least one)."""
    starts, ends = runs(mask)
    longest = int(np.argmax(ends - starts))
    return int(starts[longest]), int(ends[longest]) - 1
