"""Repetitions heard in the audio: a stretch of speech said again at once.

At natural pace whisper's language model writes "I I I want" as "I want" and "so we so we walked"
as "so we walked", but the audio still holds two or more copies of the same sound back to back.
Each 10 ms frame's log-mel spectrum (normalised over its block) is compared with the frame one
lag later, for lags of ``UNIT_MIN_S`` to ``UNIT_MAX_S`` (a syllable to a short phrase), with a
couple of frames' slack for tempo. A stretch of voiced, changing sound whose frames match the
next stretch's on average is a unit said again (``Repeat``); the detectors in
``pipelines.metrics`` decide from the words around it what it repeated.

Steady sound matches itself at every lag (a held "mmmm", a hum, noise), so a unit must change
within itself (``MIN_CHANGE``); and both copies must be voiced. Measured on the fluent long
recordings (``tests/fixtures/long``, 8 files, about 6,000 syllables, plus recorded ``jfk.flac`` and
``multilingual.mp3``), a match at ``MATCH`` or closer happened 0.1 times per 100 syllables
without a repetition, and none at ``CLOSE``; on the labelled corpus 88 % and 85 % of the
repetitions match that closely (README, "Disfluency detection"). Those are synthetic voices,
which say a unit again almost exactly; a person says it again a little differently, and the
tempo slack is only ``SLACK_FRAMES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from pipelines.alignment import level_parts
from pipelines.types import SAMPLE_RATE, AudioArray, AudioSource, audio_source

FRAME_S = 0.01
"""Hop between spectra."""
_WINDOW = 400
"""Samples per spectrum (25 ms at 16 kHz)."""
_FFT = 512
_MEL_BANDS = 40
UNIT_MIN_S = 0.1
"""Shortest unit looked for: a short syllable ("I", "the")."""
UNIT_MAX_S = 1.0
"""Longest: a short phrase ("the thing is")."""
SLACK_FRAMES = 2
"""A copy may be this many frames longer or shorter than the unit."""
MATCH = 0.06
"""Mean cosine distance between a unit's frames and its copy's at or below which it is a repeat."""
CLOSE = 0.045
"""At or below this the copies are close enough to count without a clinician's look."""
ONSET_MATCH = 0.12
"""Distance between the first half of the last copy and what follows it at or below which the
unit is the start of the next word ("buh buh b|rother"; measured 0.02-0.12 for repeated first
syllables, 0.15-0.6 for most whole words)."""
MIN_CHANGE = 0.25
"""Mean distance between a unit's frames 50 ms apart: below it the sound is steady (a held
vowel, a hum, noise) and matches itself at any lag."""
VOICED_DB = 30.0
"""Frames within this many dB of the recording's loud frames (95th percentile) are voiced."""
SILENT_DBFS = -60.0
"""Frames quieter than this (RMS, dB of full scale) are never voiced, however quiet the rest."""
MIN_VOICED = 0.7
"""Share of voiced frames each copy needs."""
NOISE_PERCENTILE = 10.0
NOISE_MARGIN_DB = 6.0
"""Each band's noise floor is its ``NOISE_PERCENTILE``th percentile over the block; band
energies less than ``NOISE_MARGIN_DB`` above it are raised to that. A recording's noise
otherwise fills the pauses and the quiet bands with spectra that differ frame to frame, and a
unit said again after a pause ("I, I want") no longer matches its copy. With white noise at
-50 dBFS under the labelled clips (about 23 dB under their speech), 15 of the main set's 33
repetitions and 5 of the dev set's 17 matched at ``CLOSE`` without the floor, 24 and 15 with
it (28 and 14 without noise, with or without the floor). Digital silence, the synthetic clips'
pauses, is its own floor, so they are nearly unchanged."""
_DB_PER_NEPER = 10 / np.log(10)
"""Decibels of power per unit of natural log."""
_BLOCK_FRAMES = 3000
"""Spectra are compared in 30 s blocks, so memory does not grow with the recording."""
_MAX_COPIES = 8


@dataclass(frozen=True, slots=True)
class Repeat:
    """A unit of sound said ``copies`` times in a row, starting at ``start``."""

    start: float
    unit_s: float
    copies: int
    distance: float
    """Mean cosine distance between consecutive copies' spectra: 0 is identical."""
    continues: bool
    """What follows the last copy starts like the unit does: the unit is the first part of the
    next word ("buh buh brother"), not a word of its own."""

    @property
    def end(self) -> float:
        return self.start + self.copies * self.unit_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 3),
            "unit_s": round(self.unit_s, 3),
            "copies": self.copies,
            "distance": round(self.distance, 4),
            "continues": self.continues,
        }


def repeated_units(
    audio: AudioArray | AudioSource, *, sample_rate: int = SAMPLE_RATE
) -> list[Repeat]:
    """Every stretch of ``audio`` said again at once, earliest first, none overlapping; read
    a block at a time."""
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"expected {SAMPLE_RATE} Hz audio, got {sample_rate}")
    longest = round(UNIT_MAX_S / FRAME_S) + SLACK_FRAMES
    context = 2 * longest * (_MAX_COPIES // 2)
    hop = round(FRAME_S * sample_rate)
    source = audio_source(audio)
    frames = max(0, 1 + (source.samples - _WINDOW) // hop)
    if not frames:
        return []
    blocks = range(0, frames, _BLOCK_FRAMES)
    loudness = np.concatenate(
        [
            _loudness(source.read(first * hop, (first + _BLOCK_FRAMES - 1) * hop + _WINDOW))
            for first in blocks
        ]
    )
    voiced = loudness > max(float(np.percentile(loudness, 95)) - VOICED_DB, SILENT_DBFS)
    part = np.zeros(len(loudness), dtype=np.int32)
    for number, frames_of_part in enumerate(level_parts(loudness, FRAME_S)):
        part[frames_of_part] = number
    found: list[Repeat] = []
    for first in blocks:
        # A block's spectra are normalised over it: the last block reads back to a whole
        # block's length, for a sliver of speech past the last block edge is no measure of
        # its own noise floor and mean (it matched itself).
        read_from = max(0, min(first, frames - _BLOCK_FRAMES))
        last = min(frames, first + _BLOCK_FRAMES + context)
        block = source.read(read_from * hop, (last - 1) * hop + _WINDOW)
        owned = min(_BLOCK_FRAMES, frames - first)
        window = slice(read_from, last)
        for repeat in _in_block(block, voiced[window], part[window], owned, first - read_from):
            if found and repeat.start + read_from * FRAME_S < found[-1].end:
                continue  # begun in the block before, which saw the whole of it
            found.append(
                Repeat(
                    start=repeat.start + read_from * FRAME_S,
                    unit_s=repeat.unit_s,
                    copies=repeat.copies,
                    distance=repeat.distance,
                    continues=repeat.continues,
                )
            )
    return found


def _in_block(
    audio: AudioArray, voiced_frames: np.ndarray, parts: np.ndarray, owned: int, skipped: int = 0
) -> list[Repeat]:
    """Repeats that start in the ``owned`` frames of ``audio`` after its first ``skipped``
    (context for the spectra's normalisation); times from its start. ``parts`` numbers each
    frame's part of the recording (``pipelines.alignment.level_parts``)."""
    spectra = _log_mel(audio)
    n = len(spectra)
    shortest, longest = round(UNIT_MIN_S / FRAME_S), round(UNIT_MAX_S / FRAME_S)
    if n < 2 * shortest:
        return []
    speech = voiced_frames[:n]
    # Normalised by the voiced frames' mean: silence would pull every spectrum the same way.
    # Each part spoken at a level of its own by its own mean: by the loud part's, the quiet
    # part's spectra all leaned one way and matched each other ("minutes minutes" in
    # ``noise_20db`` joined to itself 20 dB lower, in either order; neither alone).
    unit = np.empty_like(spectra)
    for number in np.unique(parts[:n]):
        mine = parts[:n] == number
        measured = mine & speech
        unit[mine] = spectra[mine] - spectra[measured if measured.any() else mine].mean(axis=0)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True) + 1e-9
    voiced = _cumulative(speech)
    change = _cumulative(_distance_at(unit, 5))

    candidates: list[tuple[float, int, int]] = []
    for lag in range(shortest, min(longest, (n - 1) // 2) + 1):
        mean = _window_mean(_slack_distance(unit, lag), lag)
        starts = np.arange(skipped, min(len(mean), n - 2 * lag + 1, skipped + owned))
        if not len(starts):
            continue
        ok = (
            (mean[starts] <= MATCH)
            & (_share(voiced, starts, lag) >= MIN_VOICED)
            & (_share(voiced, starts + lag, lag) >= MIN_VOICED)
            & (_share(change, starts, lag) >= MIN_CHANGE)
        )
        candidates.extend((float(mean[s]), int(s), lag) for s in starts[ok])

    taken = np.zeros(n, dtype=bool)
    repeats: list[Repeat] = []
    # Closest first; among equally close ones (exact copies) the earliest, so every copy counts.
    for distance, start, lag in sorted(candidates, key=lambda c: (round(c[0], 3), c[1], c[2])):
        if taken[start : start + 2 * lag].any():
            continue
        copies, distances = 2, [distance]
        while copies < _MAX_COPIES and start + (copies + 1) * lag <= n:
            following = _copy_distance(unit, start + (copies - 1) * lag, lag)
            if following > MATCH or taken[start + copies * lag : start + (copies + 1) * lag].any():
                break
            copies, distances = copies + 1, [*distances, following]
        end = start + copies * lag
        taken[start:end] = True
        onset = max(1, lag // 2)
        continues = end + onset <= n and (
            _copy_distance(unit, end - lag, lag, length=onset) <= ONSET_MATCH
        )
        repeats.append(
            Repeat(
                start=start * FRAME_S,
                unit_s=lag * FRAME_S,
                copies=copies,
                distance=float(np.mean(distances)),
                continues=bool(continues),
            )
        )
    return sorted(repeats, key=lambda r: r.start)


def _frames(audio: AudioArray) -> np.ndarray:
    """``_WINDOW`` samples every ``FRAME_S``, one row each (a view, no copy)."""
    hop = round(FRAME_S * SAMPLE_RATE)
    if len(audio) < _WINDOW:
        return np.zeros((0, _WINDOW), dtype=np.float32)
    return np.lib.stride_tricks.sliding_window_view(audio, _WINDOW)[::hop]


def _loudness(audio: AudioArray) -> np.ndarray:
    """RMS of each frame in dB of full scale."""
    frames = _frames(audio)
    power = np.einsum("ij,ij->i", frames, frames, dtype=np.float64) / _WINDOW
    return np.asarray(10 * np.log10(power + 1e-12))


def _log_mel(audio: AudioArray) -> np.ndarray:
    """Log mel band energies of each frame, none below its band's noise floor
    (``NOISE_PERCENTILE``, ``NOISE_MARGIN_DB``)."""
    frames = _frames(audio) * np.hanning(_WINDOW).astype(np.float32)
    power = np.abs(np.fft.rfft(frames, n=_FFT)) ** 2
    spectra = np.log(power @ _mel_filters().T + 1e-6)
    if not len(spectra):
        return np.asarray(spectra)
    noise = np.percentile(spectra, NOISE_PERCENTILE, axis=0)
    return np.asarray(np.maximum(spectra, noise + NOISE_MARGIN_DB / _DB_PER_NEPER))


@cache
def _mel_filters() -> np.ndarray:
    """Triangular mel filters from 80 Hz to 7.6 kHz over the FFT's bins."""

    def mel(hz: np.ndarray) -> np.ndarray:
        return 2595 * np.log10(1 + hz / 700)

    edges_mel = np.linspace(mel(np.array(80.0)), mel(np.array(7600.0)), _MEL_BANDS + 2)
    edges = np.floor((_FFT + 1) * 700 * (10 ** (edges_mel / 2595) - 1) / SAMPLE_RATE).astype(int)
    filters = np.zeros((_MEL_BANDS, _FFT // 2 + 1), dtype=np.float32)
    for band, (low, middle, high) in enumerate(zip(edges, edges[1:], edges[2:], strict=False)):
        rising = np.arange(low, middle)
        falling = np.arange(middle, high)
        filters[band, rising] = (rising - low) / max(middle - low, 1)
        filters[band, falling] = (high - falling) / max(high - middle, 1)
    return filters


def _distance_at(unit: np.ndarray, lag: int) -> np.ndarray:
    """Cosine distance between each frame and the frame ``lag`` later (2 past the end)."""
    distance = np.full(len(unit), 2.0, dtype=np.float32)
    distance[: len(unit) - lag] = 1 - np.einsum("ij,ij->i", unit[:-lag], unit[lag:])
    return distance


def _slack_distance(unit: np.ndarray, lag: int) -> np.ndarray:
    """Each frame's distance to the closest of the frames ``lag`` ± ``SLACK_FRAMES`` later."""
    return np.asarray(
        np.min(
            [_distance_at(unit, lag + slack) for slack in range(-SLACK_FRAMES, SLACK_FRAMES + 1)],
            axis=0,
        )
    )


def _window_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Mean of ``values`` over each run of ``width`` frames, by its first frame."""
    total = _cumulative(values)
    return np.asarray((total[width:] - total[:-width]) / width)


def _cumulative(values: np.ndarray) -> np.ndarray:
    return np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))


def _share(total: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """Mean over ``width`` frames from each start, from a cumulative sum."""
    return np.asarray((total[starts + width] - total[starts]) / width)


def _copy_distance(unit: np.ndarray, start: int, lag: int, *, length: int | None = None) -> float:
    """Mean slack distance between ``length`` (default ``lag``) frames from ``start`` and the
    frames ``lag`` later."""
    length = lag if length is None else length
    here = unit[start : start + length]
    best = np.full(len(here), 2.0, dtype=np.float32)
    for slack in range(-SLACK_FRAMES, SLACK_FRAMES + 1):
        there = unit[start + lag + slack : start + lag + slack + length]
        if len(there) == len(here) and start + lag + slack >= 0:
            best = np.minimum(best, 1 - np.einsum("ij,ij->i", here, there))
    return float(best.mean())
