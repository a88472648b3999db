"""Tighten word timestamps to the audio: Whisper stretches a word over the silence after it.

Whisper's word times come from cross-attention, and a word before a pause typically "ends"
well inside the pause (a 2 s gap after "about" shows up as "about" lasting 1.7 s). Pauses and
blocks are measured between words, so each word's span is trimmed to where the signal is
voiced: leading and trailing silent runs inside a word's span are cut off. Silence is frames
whose RMS is far below the recording's speech level (relative, so gain does not matter);
under a mains hum, the level above the hum's band (``HUM_CUTOFF_HZ``).

Long stretches far quieter than the speech (digital silence, a recorder started before the
microphone was live, a gap spliced in) are no part of the speech's own level: measured with
them, the floor falls up to 60 dB under the speech, the room's noise between
words counts as voiced, pauses vanish under the words and fluent words read as drawn out.
``voicing`` measures both: ``Voicing.speech`` against the speech's own floor, for word times,
pauses and disfluency evidence; ``Voicing.heard`` against the whole recording's, for the
coverage check, which would rather decode a quiet stretch again than miss it.

A recording whose parts are spoken at levels far apart (two takes joined, a recorder's gain
changed, a speaker who moved away from the microphone and stayed there) has the speech's level
measured part by part (``_parts``): measured once over both, the quiet part's floor is the loud
part's, the loud part's noise between words counts as voiced and its fluent words read as drawn
out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np

from pipelines.types import (
    SAMPLE_RATE,
    AudioArray,
    AudioSource,
    Segment,
    Transcript,
    Word,
    audio_source,
    runs,
)

FRAME_S = 0.02
SILENCE_FRACTION = 0.3
"""Silent: below the noise floor plus this fraction of the way (in dB) to the speech level."""
DYNAMIC_RANGE_DB = 60.0
"""A floor for digital silence, relative to the speech level."""
MIN_SILENCE_S = 0.25
"""Only silent runs at least this long are cut from a word (stop closures are shorter)."""
_BLOCK_FRAMES = 1500
"""Levels are measured 30 s at a time, so memory does not grow with the recording."""
PADDING_DB = 35.0
"""Frames this far under the loud frames (95th percentile) hold no speech: a room's noise
between words is 24-31 dB under them on the recorded fixtures."""
PART_WINDOW_S = 2.0
"""Each window's speech level (95th percentile, padding left out) is what finds the parts."""
PART_DB = 10.0
"""Parts whose windows' median levels are this far apart are measured each on its own. On the
recordings of 20 s or more among the fixtures, each spoken at one level, the two sides of any
cut are at most 0.6-2.0 dB apart (2.0: ``conversation_no_tail``, two voices)."""
PART_MIN_S = 10.0
"""The shortest part: shorter, a part's percentiles would rest on a few phrases."""
PADDING_S = 5.0
"""A stretch of ``PADDING_DB`` quiet this long is padding or an edit, not a pause of the
speech's own (a recorder started before the microphone was live, zeros left at the end, a gap
spliced in): left out of the speech's level (``Voicing.speech``). JFK after 20 s of noise at
-85, -75 or -65 dBFS (his room's is -41) had %SS 7.1-10.7, as after zeros. Synthetic speech's
pauses are digital silence of up to 3 s; with no floor of their own, those recordings keep the
``DYNAMIC_RANGE_DB`` floor."""
HUM_CUTOFF_HZ = 500.0
"""Mains hum (50 or 60 Hz and its harmonics) fills the pauses with a level that can be within
15 dB of the speech, and quiet words then fall under the silence level. The level above this
frequency leaves the hum out, up to a 60 Hz buzz's sixth harmonic (speech keeps its formants)."""
HUM_GAIN_DB = 20.0
"""The level above ``HUM_CUTOFF_HZ`` is used when it separates speech from silence by this much
more than the full-band level does: 40 dB or more with a hum under the speech; at most 17 on
the fixture recordings (quiet low sounds, a room's rumble, fades into digital silence), which
keep the full band, as does broadband noise."""
INNER_SILENCE_S = 0.6
"""A silent run this long inside a word's span ends the word: a pause, not part of a word."""
SLIVER_S = 0.1
"""Sound this short closing a word's span after a silence of ``MIN_SILENCE_S`` or more is the
next word's first sound, which whisper ran the word into across the pause: the word ends at
that silence ("hands, | 0.58 s | and" with "hands," timed over the pause and 0.04 s into the
"and", read as a drawn-out word)."""


def frames(start: float, end: float) -> slice:
    """The ``FRAME_S`` frames from ``start`` to ``end`` seconds: from the frame ``start`` falls
    in up to and including the one ``end`` falls in, for indexing ``Voicing.speech``."""
    return slice(int(start / FRAME_S), int(np.ceil(end / FRAME_S)))


@dataclass(frozen=True, slots=True)
class Voicing:
    """Per ``FRAME_S`` frame, whether the signal is above the silence level, two ways."""

    speech: np.ndarray
    """Against the speech's own level: long stretches far quieter than the speech (``PADDING_S``,
    ``PADDING_DB``) left out of it."""
    heard: np.ndarray
    """Against the whole recording's level, and wherever ``speech`` is voiced. It is ``speech``
    unless the recording has such a stretch, which lowers the floor: quiet speech next to it
    then counts as voiced, and the coverage check decodes it again where VAD missed it (JFK's
    soft "ask not" after 60 s of zeros, which Silero scores as no speech), or parts spoken at
    levels far apart (``_parts``): a quiet part is voiced at its own level, under the whole
    recording's (JFK 20 dB lower with a room's noise at his own room's level, after JFK: whisper
    skipped it, and its repair's words, laid under the whole recording's level and where Silero
    heard no speech, were taken for made up; 22 words, as raw decoding, now 37 of 44)."""


def voicing(audio: AudioArray | AudioSource, *, sample_rate: int = SAMPLE_RATE) -> Voicing:
    """Where the signal of ``audio`` is above the silence level (``Voicing``)."""
    source = audio_source(audio)
    frame = max(1, int(FRAME_S * sample_rate))
    end = source.samples // frame * frame
    if end == 0:
        none = np.zeros(0, dtype=bool)
        return Voicing(speech=none, heard=none)
    step = frame * _BLOCK_FRAMES
    blocks = (source.read(start, min(start + step, end)) for start in range(0, end, step))
    levels = [(_levels_db(b, frame), _levels_above_db(b, frame, sample_rate)) for b in blocks]
    full, above_hum = (np.concatenate(parts) for parts in zip(*levels, strict=True))
    heard = _voiced(full, above_hum, np.ones(len(full), dtype=bool))
    own = ~_padding(full, FRAME_S)
    if not own.any():
        return Voicing(speech=heard, heard=heard)
    parts = _parts(full, own, FRAME_S)
    if own.all() and len(parts) == 1:
        return Voicing(speech=heard, heard=heard)
    speech = [_voiced(full[part], above_hum[part], own[part]) for part in parts]
    speech_frames = np.concatenate(speech)
    return Voicing(speech=speech_frames, heard=heard | speech_frames)


def level_parts(level: np.ndarray, frame_s: float) -> list[slice]:
    """The frames of a recording (``level``: each ``frame_s`` frame's level in dB) as parts
    spoken each at a level of its own (``_parts``); long quiet stretches (``_padding``) are no
    part's measure."""
    own = ~_padding(level, frame_s)
    return _parts(level, own, frame_s) if own.any() else [slice(0, len(level))]


def _parts(level: np.ndarray, own: np.ndarray, frame_s: float) -> list[slice]:
    """The recording's frames as consecutive parts, each spoken at a level of its own: split
    where the median speech level of ``PART_WINDOW_S`` windows (mostly ``own`` frames) differs by
    ``PART_DB`` or more on the two sides, each at least ``PART_MIN_S`` long (``_splits``). One
    part where the levels spread less than that.

    A cut found between two windows moves to within a window either side of it. Between the
    loud part's last (or first) frame over the level halfway between the parts and the quiet
    part's nearest frame as near its floor (half the difference over it), a frame may be either
    part's: the loud part's noise, or the quiet part's speech, at the same level. That stretch
    goes to the loud part, where it is silent: in the quiet part, the loud part's noise would be
    voiced, and its last word, which whisper runs on over the pause after it, would read as
    drawn out."""
    width = round(PART_WINDOW_S / frame_s)
    starts, levels = [], []
    for start in range(0, len(level) - width + 1, width):
        window = slice(start, start + width)
        if own[window].mean() >= 0.5:
            starts.append(start)
            levels.append(float(np.percentile(level[window][own[window]], 95)))
    shortest = round(PART_MIN_S / PART_WINDOW_S)
    if len(levels) < 2 * shortest or np.ptp(levels) < PART_DB:
        return [slice(0, len(level))]
    splits = sorted(_splits(np.array(levels), 0, len(levels), shortest))
    bounds = [0, *splits, len(levels)]
    medians = [float(np.median(levels[a:b])) for a, b in pairwise(bounds)]
    spans = [slice(starts[a], starts[b - 1] + width) for a, b in pairwise(bounds)]
    floors = [_floor_and_loud(level[span][own[span]])[0] for span in spans]
    edges = [0]
    for k, split in enumerate(splits):
        zone = np.arange(max(starts[split] - width, edges[-1]), starts[split] + width)
        apart = abs(medians[k] - medians[k + 1])
        loud = zone[level[zone] >= min(medians[k], medians[k + 1]) + apart / 2]
        if medians[k] > medians[k + 1]:  # loud, then quiet
            after = zone[zone > (loud[-1] if loud.size else zone[0] - 1)]
            quiet = after[level[after] < floors[k + 1] + apart / 2]
            edges.append(int(quiet[0]) if quiet.size else int(zone[-1]) + 1)
        else:
            before = zone[zone < (loud[0] if loud.size else zone[-1] + 1)]
            quiet = before[level[before] < floors[k] + apart / 2]
            edges.append(int(quiet[-1]) + 1 if quiet.size else int(zone[0]))
    edges.append(len(level))
    return [slice(a, b) for a, b in pairwise(edges)]


def _splits(levels: np.ndarray, lo: int, hi: int, shortest: int) -> list[int]:
    """Indices into ``levels[lo:hi]`` to split at: binary segmentation, each cut where the two
    sides lie closest to their own medians (least absolute deviation, robust to the windows a
    long pause fills), kept where those medians are ``PART_DB`` or more apart."""
    best, least = None, np.inf
    for cut in range(lo + shortest, hi - shortest + 1):
        left, right = levels[lo:cut], levels[cut:hi]
        cost = float(np.abs(left - np.median(left)).sum() + np.abs(right - np.median(right)).sum())
        if cost < least:
            best, least = cut, cost
    if best is None or abs(np.median(levels[lo:best]) - np.median(levels[best:hi])) < PART_DB:
        return []
    return [*_splits(levels, lo, best, shortest), best, *_splits(levels, best, hi, shortest)]


def _voiced(full: np.ndarray, above_hum: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Which frames of ``full`` (or, under a hum, of ``above_hum``) are above the silence level
    measured on the ``measured`` frames (a boolean mask)."""
    threshold, spread = _silence_level(full[measured])
    hum_threshold, hum_spread = _silence_level(above_hum[measured])
    if hum_spread >= spread + HUM_GAIN_DB:
        return np.asarray(above_hum >= hum_threshold)
    return np.asarray(full >= threshold)


def _padding(level: np.ndarray, frame_s: float) -> np.ndarray:
    """The frames in runs at least ``PADDING_S`` long of frames ``PADDING_DB`` or more under the
    loud frames (``level``: each frame's level in dB)."""
    padding = np.zeros(len(level), dtype=bool)
    quiet = level < float(np.percentile(level, 95)) - PADDING_DB
    for first, past in zip(*runs(quiet), strict=True):
        if (past - first) * frame_s >= PADDING_S:
            padding[first:past] = True
    return padding


def _silence_level(level: np.ndarray) -> tuple[float, float]:
    """The level under which a frame is silent, and how far speech stands over the noise floor
    (both in dB)."""
    floor, loud = _floor_and_loud(level)
    return floor + SILENCE_FRACTION * (loud - floor), loud - floor


def _floor_and_loud(level: np.ndarray) -> tuple[float, float]:
    """The noise floor and the speech level of frames at ``level`` (dB)."""
    loud = float(np.percentile(level, 95))
    return max(float(np.percentile(level, 10)), loud - DYNAMIC_RANGE_DB), loud


def _levels_db(samples: AudioArray, frame: int) -> np.ndarray:
    """RMS in dB of each whole ``frame`` of ``samples``."""
    frames = samples.astype(np.float64).reshape(-1, frame)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return np.asarray(20 * np.log10(np.maximum(rms, 1e-9)))


def _levels_above_db(samples: AudioArray, frame: int, sample_rate: int) -> np.ndarray:
    """Power in dB above ``HUM_CUTOFF_HZ`` of each whole ``frame`` of ``samples`` (Hann
    window, so a hum's leakage into the upper bins stays far under any speech)."""
    window = np.hanning(frame)
    frames = samples.astype(np.float64).reshape(-1, frame) * window
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    above = np.fft.rfftfreq(frame, 1 / sample_rate) >= HUM_CUTOFF_HZ
    mean_square = power[:, above].sum(axis=1) * 2 / (frame * float(window @ window))
    return np.asarray(10 * np.log10(np.maximum(mean_square, 1e-18)))


def trimmed(word: Word, voiced: np.ndarray, *, off_voice: bool = False) -> Word:
    """``word`` with the silent runs at its edges cut off (``MIN_SILENCE_S`` or longer), and
    ended at a silence inside it of ``INNER_SILENCE_S`` or longer, or of ``MIN_SILENCE_S`` or
    longer with less than ``SLIVER_S`` of sound after it in the word; ``voiced`` is
    ``voicing(...).speech`` of the recording the word's times are in. A word with no voiced frame
    under it is left where it is, or, with ``off_voice``, takes no time (``_off_voice``)."""
    first = int(word.start / FRAME_S)
    last = min(int(np.ceil(word.end / FRAME_S)), len(voiced))
    if last - first <= 0:
        return word
    span = voiced[first:last]
    on = np.flatnonzero(span)
    if on.size == 0:
        return _off_voice(word, voiced, first, last) if off_voice else word
    min_run = int(MIN_SILENCE_S / FRAME_S)
    start, end = word.start, word.end
    if on[0] >= min_run:
        start = (first + on[0]) * FRAME_S
    if (len(span) - 1 - on[-1]) >= min_run:
        end = (first + on[-1] + 1) * FRAME_S
    # A silence inside the word this long is a pause whisper laid the word over: the word is
    # the sound before it (whisper stretches a word over the silence after it, not before).
    steps = np.diff(on)
    gaps = np.flatnonzero(steps > int(INNER_SILENCE_S / FRAME_S))
    if gaps.size:
        end = min(end, (first + on[gaps[0]] + 1) * FRAME_S)
    # So is a silence followed only by a sliver of sound to the word's end: the next word's.
    pauses = np.flatnonzero(steps > min_run)
    if pauses.size and (on[-1] - on[pauses[-1] + 1] + 1) * FRAME_S < SLIVER_S:
        end = min(end, (first + on[pauses[-1]] + 1) * FRAME_S)
    if end <= start:
        return word
    return replace(word, start=round(float(start), 3), end=round(float(end), 3))


def _off_voice(word: Word, voiced: np.ndarray, first: int, last: int) -> Word:
    """``word``, which lies wholly on silence (frames ``first`` to ``last``), shrunk to no time
    at the edge of that silence nearer to voiced audio: whisper timed it after or before the
    sound it was said with, across a pause ("We waited for the | 1.8 s | ferry" came back with
    "them," laid over the whole silence, and read as a drawn-out word where the silence was a
    block), and a span of silence is no duration of a word. Only once the coverage check has
    judged whether the word was said at all: laid on silence, it may be made up ("Thank you."
    after the speech, ``coverage.without_unvoiced_segments``)."""
    before = np.flatnonzero(voiced[:first])
    after = np.flatnonzero(voiced[last:])
    back = first - (before[-1] + 1) if before.size else np.inf
    ahead = after[0] if after.size else np.inf
    if not np.isfinite(back) and not np.isfinite(ahead):
        return word
    at = word.start if back <= ahead else word.end
    return replace(word, start=at, end=at)


def refine_word_times(
    transcript: Transcript, voiced: np.ndarray, *, off_voice: bool = False
) -> Transcript:
    """The same transcript with each word trimmed to its voiced part (``voiced``, from
    ``voicing(...).speech`` of the recording; ``off_voice``: see ``trimmed``)."""
    if voiced.size == 0 or not voiced.any():
        return transcript
    segments = tuple(
        Segment(
            start=s.start,
            end=s.end,
            text=s.text,
            words=tuple(trimmed(w, voiced, off_voice=off_voice) for w in s.words),
        )
        for s in transcript.segments
    )
    return replace(transcript, segments=segments)
