"""Coverage: every stretch of voiced audio ends up with words, and repairs are counted.

Whisper can end a 30 s window early and move on, losing the rest of it (batched decoding has no
timestamp to seek back to), and any backend can come back with nothing for audio that is plainly
speech. So the words of a transcript are checked against where the audio is voiced (Silero VAD,
bundled with faster-whisper, and long voiced sounds it doubted: ``with_doubted_speech``): each
voiced stretch that no word covers is transcribed again on its own and its words are spliced
in; a retry replaces the words held in its window only when its own words cover more of the
window's voiced audio (a decoder loop standing in for speech).
What is removed outright is narrow: a sentence most of whose words lie off voiced audio
(whisper's "Thank you." in trailing silence), a sentence whisper wrote again over the end of
itself and all but ruled out (``without_echoes``), and a closing phrase whose first word it all
but ruled out and gave no time (``without_made_up_ending``), so a speaker's repetitions or a
last sentence can never be taken for a hallucination. Short sounds no word covers are kept as
evidence for the disfluency detectors (``Sound``).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from itertools import accumulate, pairwise
from typing import Any

import numpy as np
from faster_whisper.transcribe import get_compression_ratio
from faster_whisper.vad import VadOptions

from pipelines.alignment import FRAME_S, frames
from pipelines.fillers import filler_loops, normalise
from pipelines.repeats import Repeat
from pipelines.second_pass import HeardFiller
from pipelines.syllables import estimate_syllables
from pipelines.types import (
    SAMPLE_RATE,
    AudioArray,
    AudioSource,
    Segment,
    Span,
    Word,
    audio_source,
    runs,
)
from pipelines.vad import WINDOW, speech_probabilities, speech_timestamps

SPEECH_VAD = VadOptions(min_silence_duration_ms=300, speech_pad_ms=100)
"""Tighter than faster-whisper's defaults (2 s, 400 ms), so a voiced stretch means speech."""
MIN_VOICED_PER_SYLLABLE_S = 0.05
"""Voiced audio a sentence needs under it per syllable: a quarter of what the fastest speech
takes (about 0.2 s a syllable at 190 words a minute, most of it voiced), so loose word times
never cost a real sentence."""
TIMED_SYLLABLES = 3
"""Sentences from this many syllables are held to ``MIN_VOICED_PER_SYLLABLE_S``; a shorter one
("Okay.") may be timed shorter than it was said."""
WORD_SLACK_S = 0.3
"""Word times are off by up to this much; speech this close to a word counts as covered."""
WORD_MAX_S = 1.5
"""A word covers at most this much audio: whisper sometimes stretches the word before a lost
sentence over all of it. A prolonged sound longer than this is only decoded again (its word
comes back once and is not added twice)..."""
WORD_S_PER_SYLLABLE = 0.35
"""...and at most this much per syllable (``estimate_syllables``), at least ``WORD_MIN_S``:
at the end of a recording whisper laid "pencils" over 2.0 s, "did" after it, and lost "Helen
bring to the concert" under the two; 1.5 s of cover left 0.4 s of that speech uncovered, too
little to decode again. Slow speech takes about 0.3 s a syllable."""
WORD_MIN_S = 0.5
STRETCHED = 2.0
"""A word this many times as long as the speaker's time per syllable for its syllables is
drawn out (``underwritten_speech``): a prolonged sound, or a word laid over speech it skipped."""
STRETCHED_RUN = 2
"""Drawn-out words in a row that may stand over skipped speech: one alone is as often a
prolongation, which a repair would decode the same way."""
DOUBTED_WORD = 0.5
"""Whisper's probability below which it doubted a word; the speaker's pace is read from the
words above it."""
WRITES_MORE = 2
"""A retry that writes at least this many times the syllables held over underwritten speech,
and this many more, heard what the drawn-out words were laid over."""
TIMED_WORDS = 20
"""Sure words needed to read the speaker's pace."""
LOOP_RATIO = 2.4
"""Whisper's own test for a decoder loop (faster-whisper's ``compression_ratio_threshold``):
text that gzip shrinks more than this many times is the same few words over and over. A
sequential call decodes such a window again at a higher temperature; a batched one keeps it."""
LOOP_WORDS = 30
"""Words read at a time by ``looped_speech``: about a sentence and a half. A loop of "door"
written 100 times over 11 s of a stuttered recording compressed 9.3 times over 30 words; the
fluent long recordings at most 1.7, the labelled disfluency clips (their stutters written
"mama, mama, mama" or "I, I, I") at most 1.8, their reference texts at most 1.2."""
MIN_UNCOVERED_S = 1.0
"""Voiced audio with no word for at least this long is transcribed again (about three words)."""
LONE_GAP_S = 0.75
"""A sound no word covers with no word this close on either side is a phrase said on its own,
between pauses, and is transcribed again however short (``lone_sounds``). A filler or a drawn-out
onset that whisper wrote no word for lies against the word it goes with (0.0-0.13 s from it in
the labelled sessions); the phrases whisper skipped there had 1.1 s of silence or more each side."""
DOUBTED_PROBABILITY = SPEECH_VAD.threshold / 2
"""A Silero score from which a long voiced sound no word covers is speech it doubted."""
DOUBTED_S = 0.2
"""How long Silero must score a sound at least ``DOUBTED_PROBABILITY``, on end."""
REPAIR_PAD_S = 0.5
"""Context decoded either side of an uncovered stretch; words there are the ones already held."""
REPAIR_MAX_S = 28.0
"""Longest piece of audio one repair sends: one Whisper window, so it is decoded in one pass."""
SAME_REPAIR_GAP_S = 2.0
"""Uncovered stretches closer than this are repaired in one call."""
MIN_SOUND_S = 0.3
"""Sound this long outside every word, too short to repair, is kept as evidence for the
disfluency detectors: a filler or a prolonged onset that whisper wrote no word for."""
FLOW_S = 0.08
"""Audio compared either side of where a sound ends, to tell whether it runs on unchanged."""
COPY_WORDS = 6
"""A run of this many words that a repair wrote and the first pass also wrote beside the repaired
window is one sentence written twice (``without_misplaced_copies``); a speaker's own phrase
repetitions are shorter ("I want to, I want to")."""
COPY_NEAR_S = 30.0
"""How far from a repaired window the first pass's copy may lie: one Whisper window."""
ECHO_PROBABILITY = 0.1
"""Below this whisper all but ruled a word out: every word of a sentence it wrote again right
after itself is (``without_echoes``; 0.00-0.07 measured)."""
ECHO_GAP_S = 0.1
"""Longest gap between a sentence and its echo: whisper lays the copy over the end of the first."""
CLOSING_WORDS = 3
"""The longest closing phrase whisper hangs on the end of the speech ("Thank you.", "Thanks for
watching!") that ``without_made_up_ending`` takes out."""
FLOWS_ON = 0.7
"""Correlation of the band spectra either side above which a sound runs on into what follows:
a drawn-out onset ("mmmm|aybe", "ssss|o"), not a filler before a different sound ("uh|the")."""
NOISY_CROSSINGS = 0.25
"""Zero crossings per sample above which a sound is noise-like (s, f, sh: a fricative or a
breath), not voiced (um, uh, mmm)."""


@dataclass(frozen=True, slots=True)
class Sound:
    """Audio above the silence level that no word covers."""

    start: float
    end: float
    noisy: bool
    """Noise-like (a fricative or a breath) rather than voiced."""
    flows_on: bool = False
    """Its spectrum runs on unchanged into the audio after it: the first sound of what follows,
    drawn out."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "noisy": self.noisy,
            "flows_on": self.flows_on,
        }


@dataclass(frozen=True, slots=True)
class Coverage:
    """What the check found and did, kept with the transcript for clinicians and operators."""

    voiced_s: float
    uncovered_s: float
    """Voiced audio that no word covered before any repair, or that only drawn-out words
    whisper doubted did (``underwritten_speech``)."""
    repairs: int
    """Stretches sent to be transcribed again."""
    words_recovered: int
    """Words the repairs added, net: a retry that replaced a decoder loop ("let's go, let's
    go, ...") with the few words really said counts what it removed against what it added."""
    unrecovered_s: float
    """Voiced audio still without words afterwards (noise, or speech no backend could read)."""
    removed_segments: int = 0
    """Sentences dropped because most of their words lie off voiced audio, or because whisper
    wrote them again right after themselves (``without_echoes``)."""
    misplaced_words: int = 0
    """Words the first pass laid over the wrong audio, found because a repair wrote them where
    they were said (``without_misplaced_copies``); that audio is decoded again."""
    looped_s: float = 0.0
    """Audio under a decoder loop the first pass wrote (``looped_speech``), decoded again."""
    unrecovered: tuple[Span, ...] = field(default=())
    sounds: tuple[Sound, ...] = field(default=())
    """Short sounds outside every word (``unworded_sounds``), for the disfluency detectors."""
    repeats: tuple[Repeat, ...] = field(default=())
    """Stretches said again at once (``pipelines.repeats``), for the repetition detector."""
    second_pass_windows: int = 0
    """Stretches around unsure words decoded again with a filler prompt (``second_pass``)."""
    fillers: tuple[HeardFiller, ...] = field(default=())
    """Fillers that second pass wrote where the first pass wrote something else."""
    pauses: tuple[Span, ...] = field(default=())
    """Short silences whisper laid a word over (``hidden_pauses``), for the revision detector."""
    raised_db: float = 0.0
    """The gain a quiet recording was read through (``pipelines.loudness``); 0 when none."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "voiced_s": round(self.voiced_s, 3),
            "uncovered_s": round(self.uncovered_s, 3),
            "repairs": self.repairs,
            "words_recovered": self.words_recovered,
            "unrecovered_s": round(self.unrecovered_s, 3),
            "removed_segments": self.removed_segments,
            "misplaced_words": self.misplaced_words,
            "looped_s": round(self.looped_s, 3),
            "unrecovered": [[round(a, 3), round(b, 3)] for a, b in self.unrecovered],
            "sounds": [sound.to_dict() for sound in self.sounds],
            "repeats": [repeat.to_dict() for repeat in self.repeats],
            "second_pass_windows": self.second_pass_windows,
            "fillers": [filler.to_dict() for filler in self.fillers],
            "pauses": [[round(a, 3), round(b, 3)] for a, b in self.pauses],
            "raised_db": self.raised_db,
        }


def coverage_counts(coverage: Mapping[str, Any]) -> dict[str, Any]:
    """A stored coverage (``Coverage.to_dict``) with each list (spans, sounds, repeats,
    fillers, pauses) as its count: what a log line or a benchmark's summary shows."""
    return {k: len(v) if isinstance(v, list | tuple) else v for k, v in coverage.items()}


def unrecovered_spans(coverage: Mapping[str, Any]) -> list[Span]:
    """The ``unrecovered`` spans of a stored coverage (``Coverage.to_dict``); none when it has
    none, as a transcript without word times or one stored before it was kept."""
    return _spans(coverage, "unrecovered")


def pause_spans(coverage: Mapping[str, Any]) -> list[Span]:
    """The ``pauses`` of a stored coverage; none in one stored before they were kept."""
    return _spans(coverage, "pauses")


def _spans(coverage: Mapping[str, Any], key: str) -> list[Span]:
    return [(float(a), float(b)) for a, b in coverage.get(key, ())]


HIDDEN_PAUSE_S = 0.1
"""A silence this long under a word's span is a pause, not a stop's closure (20-80 ms)."""


def hidden_pauses(voiced: np.ndarray, words: Sequence[Word]) -> list[Span]:
    """Silences of ``HIDDEN_PAUSE_S`` or more that whisper laid a word over, so its times show
    no gap: "put it on the, leave it" written "on the leave it", "the" timed over the 0.16 s
    pause after it. A phrase broken off there was broken by that pause, comma or not."""
    first, past = runs(~voiced)
    silences = [
        (a * FRAME_S, b * FRAME_S)
        for a, b in zip(first, past, strict=True)
        if (b - a) * FRAME_S >= HIDDEN_PAUSE_S
    ]
    starts = [w.start for w in words]
    hidden: list[Span] = []
    for start, end in silences:
        at = bisect_left(starts, end)
        if any(w.end > start for w in words[max(0, at - 2) : at]):
            hidden.append((start, end))
    return hidden


@dataclass(frozen=True, slots=True)
class Speech:
    """Where Silero VAD heard speech, and its probability for every ``WINDOW`` of the audio."""

    spans: list[Span]
    probabilities: np.ndarray


def silero_speech(audio: AudioArray | AudioSource, *, sample_rate: int = SAMPLE_RATE) -> Speech:
    """Silero VAD over ``audio``, read a block at a time (``pipelines.vad``)."""
    source = audio_source(audio)
    probabilities = speech_probabilities(source)
    spans = [
        (span["start"] / sample_rate, span["end"] / sample_rate)
        for span in speech_timestamps(probabilities, source.samples, SPEECH_VAD, sample_rate)
    ]
    return Speech(spans=spans, probabilities=probabilities)


def unworded_sounds(
    audio: AudioArray | AudioSource,
    voiced: np.ndarray,
    words: Sequence[Word],
    *,
    sample_rate: int = SAMPLE_RATE,
) -> list[Sound]:
    """Runs of frames above the silence level (``voiced``, from ``voicing``) at least
    ``MIN_SOUND_S`` long that lie outside every word's span, with whether each is noise-like.
    Only the sounds and the audio either side of their ends are read."""
    source = audio_source(audio)
    outside = voiced.copy()
    for word in words:
        outside[frames(word.start, word.end)] = False
    sounds: list[Sound] = []
    for first, last in zip(*runs(outside), strict=True):
        start, end = first * FRAME_S, last * FRAME_S
        if end - start < MIN_SOUND_S:
            continue
        samples = source.read(round(start * sample_rate), round(end * sample_rate))
        crossings = float(np.mean(np.abs(np.diff(np.signbit(samples).astype(np.int8)))))
        sounds.append(
            Sound(
                start=start,
                end=end,
                noisy=crossings > NOISY_CROSSINGS,
                flows_on=_continuity(source, end, sample_rate) >= FLOWS_ON,
            )
        )
    return sounds


def _continuity(source: AudioSource, at: float, sample_rate: int) -> float:
    """Correlation of the log band energies of the ``FLOW_S`` before and after ``at``."""
    width = round(FLOW_S * sample_rate)
    middle = round(at * sample_rate)
    if middle < width:
        return 0.0
    around = source.read(middle - width, middle + width)
    before, after = around[:width], around[width:]
    if len(after) < width:
        return 0.0
    a, b = _bands(before, sample_rate), _bands(after, sample_rate)
    a, b = a - a.mean(), b - b.mean()
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm > 0 else 0.0


def _bands(samples: AudioArray, sample_rate: int) -> np.ndarray:
    """Log energy in 20 bands spaced evenly in log frequency from 100 Hz to 7 kHz."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / sample_rate)
    edges = np.geomspace(100, 7000, 21)
    energy = [spectrum[(freqs >= lo) & (freqs < hi)].sum() for lo, hi in pairwise(edges)]
    return np.log10(np.asarray(energy) + 1e-10)


def with_doubted_speech(
    heard: Speech, sounds: Sequence[Sound], *, sample_rate: int = SAMPLE_RATE
) -> list[Span]:
    """Silero's speech spans and the sounds it doubted: no word covers them, they last at least
    ``MIN_UNCOVERED_S``, are voiced rather than noise-like, do not run on into the next word
    (a drawn-out onset, which the detectors read from the sound itself), and Silero scored
    them at least ``DOUBTED_PROBABILITY`` for ``DOUBTED_S`` on end.

    Silero's score hangs on what came before: after a minute of digital silence it puts JFK's
    quiet "ask not" at 0.25-0.44 against its threshold of 0.5, and whisper, choosing what to
    decode by the same model, loses it too. Music scores under 0.25 but for a window or two."""
    doubted = [
        (float(s.start), float(s.end))
        for s in sounds
        if s.end - s.start >= MIN_UNCOVERED_S and _speechlike(s, heard, sample_rate)
    ]
    return joined([*heard.spans, *doubted]) if doubted else list(heard.spans)


def lone_sounds(
    heard: Speech,
    sounds: Sequence[Sound],
    words: Sequence[Word],
    *,
    sample_rate: int = SAMPLE_RATE,
) -> list[Span]:
    """The ``sounds`` that stand alone, no word within ``LONE_GAP_S`` either side, and are
    speech-like as ``with_doubted_speech`` reads it: a short phrase said between two pauses,
    which whisper skipped, to be decoded again although it is shorter than ``MIN_UNCOVERED_S``.
    In a session, "The kids were" (0.6 s), then a 2.2 s block, came back with no word, and the
    word after the block written "Blading"; decoded on its own it came back "The kid's with..."."""
    ordered = sorted(words, key=lambda w: w.start)
    starts = [w.start for w in ordered]
    latest_end = list(accumulate((w.end for w in ordered), max))
    lone: list[Span] = []
    for sound in sounds:
        # A sound lies outside every word: the words before it start before it and end by then.
        first_after = bisect_left(starts, sound.end)
        opened = bisect_left(starts, sound.start)
        before = latest_end[opened - 1] if opened else -math.inf
        after = starts[first_after] if first_after < len(starts) else math.inf
        if (
            sound.start - before >= LONE_GAP_S
            and after - sound.end >= LONE_GAP_S
            and _speechlike(sound, heard, sample_rate)
        ):
            lone.append((float(sound.start), float(sound.end)))
    return lone


def _speechlike(sound: Sound, heard: Speech, sample_rate: int) -> bool:
    """Voiced rather than noise-like, not running on into the next word (a drawn-out onset,
    which the detectors read from the sound itself), and scored by Silero at least
    ``DOUBTED_PROBABILITY`` for ``DOUBTED_S`` on end."""
    return (
        not sound.noisy
        and not sound.flows_on
        and _longest_run(heard.probabilities, (sound.start, sound.end), sample_rate) >= DOUBTED_S
    )


def _longest_run(probabilities: np.ndarray, span: Span, sample_rate: int) -> float:
    """Seconds of the longest run of VAD windows in ``span`` scored ``DOUBTED_PROBABILITY`` or
    more."""
    first = int(span[0] * sample_rate / WINDOW)
    last = int(np.ceil(span[1] * sample_rate / WINDOW))
    starts, ends = runs(probabilities[first:last] >= DOUBTED_PROBABILITY)
    return int(np.max(ends - starts, initial=0)) * WINDOW / sample_rate


def uncovered_speech(
    speech: Sequence[Span], words: Sequence[Word], *, min_s: float = MIN_UNCOVERED_S
) -> list[Span]:
    """The parts of ``speech`` at least ``min_s`` long that no word covers."""
    covered = joined(
        (w.start - WORD_SLACK_S, min(w.end, w.start + _longest_cover(w)) + WORD_SLACK_S)
        for w in words
    )
    gaps: list[Span] = []
    for start, end in speech:
        gaps += [(a, b) for a, b in subtract((start, end), covered) if b - a >= min_s]
    return gaps


def underwritten_speech(speech: Sequence[Span], words: Sequence[Word]) -> list[Span]:
    """Voiced audio under a run of words whisper drew out and doubted: the few words it wrote
    over a sentence it skipped. Each covers no more than its syllables may (``uncovered_speech``),
    but spread out, their cover joins up: in ``lecture_10min`` cut at other seams, "I" (0.05) and
    "think" (0.54), 0.64 s each, and "Simon" lay over "Where should we keep the ladder until on
    Friday? I think Simon", leaving 0.5 s uncovered. A run is at least ``STRETCHED_RUN`` words
    in a row each lasting ``STRETCHED`` times the speaker's time per syllable for its syllables,
    one of them below ``DOUBTED_WORD``; its audio is the voiced audio from the word before it.
    """
    per_syllable = _time_per_syllable(words)
    if per_syllable is None:
        return []
    spans: list[Span] = []
    run: list[Word] = []
    opened = previous_end = 0.0
    for word in words:
        need = STRETCHED * per_syllable * estimate_syllables(word.word)
        stretched = word.end - word.start >= need
        if stretched and run and word.start - run[-1].end <= WORD_SLACK_S:
            run.append(word)
        else:
            spans += _under_run(run, opened, speech)
            run, opened = ([word], previous_end) if stretched else ([], 0.0)
        previous_end = word.end
    return spans + _under_run(run, opened, speech)


def looped_speech(words: Sequence[Word]) -> list[Span]:
    """Where whisper wrote a decoder loop over speech instead of the words said.

    Batched decoding has no temperature fallback: over "My duh duh duh doctor told me to drink
    more water. The kettle is broken again…" it wrote "door" a hundred times, each sure
    (0.6-0.98) and laid on voiced audio, so no other check saw two sentences lost. A loop is
    found by whisper's own test: ``LOOP_WORDS`` words in a row (all of them, when there are
    fewer) whose text compresses more than ``LOOP_RATIO``. Where such runs meet, the loop is
    the stretch over which the few words that make up half of their words ("door") come in a
    row, not the words before and after that the runs also hold. A speaker's own repetitions
    are a few copies among other words and compress far less. A shorter loop of one filler
    written again and again (``FILLER_LOOP``) is one too. Each loop's span reaches from the
    end of the word before it to the start of the word after it (whisper may have squeezed a
    word said there into no time)."""
    size = min(LOOP_WORDS, len(words))
    runs = joined(
        (i, i + size)
        for i in range(len(words) - size + 1)
        if size and _compressed(words[i : i + size]) > LOOP_RATIO
    )
    extents = [_loop_extent(words, round(a), round(b)) for a, b in runs]
    loops = filler_loops([(w.word, w.start, w.end) for w in words])
    return joined(_between_neighbours(words, *extent) for extent in extents + loops)


def _between_neighbours(words: Sequence[Word], first: int, last: int) -> Span:
    """From the end of the word before ``words[first]`` to the start of the one after
    ``words[last]`` (the words' own edges where there is none, or where they reach further)."""
    start = words[first - 1].end if first else words[first].start
    end = words[last + 1].start if last + 1 < len(words) else words[last].end
    return min(start, words[first].start), max(end, words[last].end)


def _compressed(words: Sequence[Word]) -> float:
    return float(get_compression_ratio(" ".join(w.word for w in words)))


def _loop_extent(words: Sequence[Word], start: int, end: int) -> tuple[int, int]:
    """The first and last index, from ``start`` to ``end``, of the words a loop there repeats
    (the fewest different words that make up half of them) where two of them come in a row."""
    said = [normalise(w.word) for w in words[start:end]]
    looping: set[str] = set()
    counted = 0
    for word, copies in Counter(said).most_common():
        if counted * 2 >= len(said):
            break
        looping.add(word)
        counted += copies
    inside = [start + i for i, word in enumerate(said) if word in looping]
    # Where two come in a row: a copy said on its own before the loop ("by the door. My door
    # door door …") is a word of the speech.
    following = set(inside)
    paired = [i for i in inside if i + 1 in following] or inside
    return paired[0], min(paired[-1] + 1, inside[-1])


def speech_under(speech: Sequence[Span], spans: Sequence[Span]) -> list[Span]:
    """The parts of ``speech`` inside ``spans``, however short."""
    return [piece for span in spans for piece in _intersect(speech, span)]


def without_loops(segments: Sequence[Segment], looped: Sequence[Span]) -> tuple[list[Segment], int]:
    """``segments`` without the words of the decoder loops in ``looped`` (``looped_speech``),
    and how many words went: the audio under them is then speech without words, and the
    coverage check decodes it again as it does speech whisper skipped."""
    if not looped:
        return list(segments), 0
    kept: list[Segment] = []
    removed = 0
    for segment in segments:
        words = [w for w in segment.words if not _in_loop(w, looped)]
        removed += len(segment.words) - len(words)
        if len(words) == len(segment.words):
            kept.append(segment)
        elif words:
            kept.append(Segment.from_words(words))
    return kept, removed


def _in_loop(word: Word, looped: Sequence[Span]) -> bool:
    """Whether ``word`` is one of a decoder loop's (its middle in one of ``looped``)."""
    return any(a <= word.middle <= b for a, b in looped)


def _under_run(run: Sequence[Word], opened: float, speech: Sequence[Span]) -> list[Span]:
    """The voiced audio from ``opened`` to the end of ``run`` when it is a run of drawn-out
    words that may stand over skipped speech (``underwritten_speech``)."""
    if len(run) < STRETCHED_RUN or min(w.probability for w in run) >= DOUBTED_WORD:
        return []
    return [
        (a, b) for a, b in _intersect(speech, (opened, run[-1].end)) if b - a >= MIN_UNCOVERED_S
    ]


def _time_per_syllable(words: Sequence[Word]) -> float | None:
    """The speaker's usual time per syllable: the median over the words whisper was sure of."""
    times = [
        (w.end - w.start) / estimate_syllables(w.word)
        for w in words
        if w.probability >= DOUBTED_WORD and w.end > w.start
    ]
    return float(np.median(times)) if len(times) >= TIMED_WORDS else None


def _longest_cover(word: Word) -> float:
    """How much audio ``word`` may cover (``WORD_MAX_S``, ``WORD_S_PER_SYLLABLE``)."""
    return min(WORD_MAX_S, max(WORD_MIN_S, WORD_S_PER_SYLLABLE * estimate_syllables(word.word)))


def repair_windows(
    gaps: Sequence[Span], duration: float, segments: Sequence[Segment] = ()
) -> list[Span]:
    """Audio to transcribe again for ``gaps``: padded, joined when close, widened to the
    segments on either side (their words were often pulled into the gap, or are a decoder loop
    standing in for it) when that still fits one window, and cut to one window."""
    windows: list[Span] = []
    for start, end in gaps:
        start, end = max(0.0, start - REPAIR_PAD_S), min(duration, end + REPAIR_PAD_S)
        if windows and start - windows[-1][1] < SAME_REPAIR_GAP_S:
            start = windows.pop()[0]
        windows.append((start, end))
    pieces: list[Span] = []
    for start, end in windows:
        wide = _widened((start, end), segments, duration)
        if wide[1] - wide[0] <= REPAIR_MAX_S:
            start, end = wide
        count = max(1, -int(-(end - start) // REPAIR_MAX_S))
        step = (end - start) / count
        pieces += [(start + i * step, start + (i + 1) * step) for i in range(count)]
    return pieces


def undecoded_speech(
    gaps: Sequence[Span], window: Span, decoded: Sequence[Segment], *, widened: bool = False
) -> list[Span]:
    """The parts of ``gaps`` (speech still without words) in ``window`` to decode again, each
    at least ``MIN_UNCOVERED_S`` long: those after the last word a repair decoded there, or,
    when ``window`` was ``widened`` to the segments beside its gaps, all of them.

    Whisper can end a window's text early: after a stretch it cannot read (another language,
    mumbling) it may write nothing more, and English said after it in the same window is never
    decoded. Decoded again from where the words stop, it is. When the repair wrote no word at
    all there is nothing to start from: the same audio would be decoded the same way. A
    widened window is other audio than its gaps alone, and whisper can skip the gap in it and
    write only the sentences around it, which the first pass already held: over 14 s lost
    from ``lecture_10min`` and the sentence after them, whisper wrote the first lost sentence
    alone, laid over that next sentence, and nothing for the rest; the gaps decoded alone came
    back whole. So a widened window's gaps are decoded again on their own."""
    last = max((w.end for s in decoded for w in s.words), default=None)
    if widened:
        start = window[0]
    elif last is None:
        return []
    else:
        start = max(last, window[0])
    return [(a, b) for a, b in _intersect(gaps, (start, window[1])) if b - a >= MIN_UNCOVERED_S]


def _widened(window: Span, segments: Sequence[Segment], duration: float) -> Span:
    start, end = window
    touching = [
        s
        for s in segments
        if s.words and s.start < end + WORD_SLACK_S and start - WORD_SLACK_S < s.end
    ]
    if not touching:
        return window
    start = min(start, min(s.start for s in touching) - REPAIR_PAD_S)
    end = max(end, max(s.end for s in touching) + REPAIR_PAD_S)
    return max(0.0, start), min(duration, end)


def without_unvoiced_segments(
    segments: Sequence[Segment], speech: Sequence[Span], voiced: np.ndarray
) -> tuple[list[Segment], int]:
    """``segments`` minus the sentences most of whose words lie off voiced audio: neither on
    VAD speech nor on a frame above the silence level (``voiced``, from ``voicing``);
    two tests, so speech that one of them misses is never taken for a hallucination. Returns
    the segments left and how many sentences went.

    Not only sentences with no word on voice: in the silence after a short recording whisper
    goes on with its prompt ("Okay, here's what I'm going to do, so I'm going to take a look
    at this, and …"), the first word on the last voiced frame and the other 37 at the end of
    the audio, none of them lasting a frame. Sentence by sentence, since whisper may add one
    to the segment of a real one ("…we should probably leave. We'll see if we can leave.",
    the second over the last 0.22 s of voiced audio and the silence after it, its words at
    0.02-0.18 probability): a sentence of a few syllables also goes when the voiced audio
    under it is too short to say them (``MIN_VOICED_PER_SYLLABLE_S``). A real sentence whose
    times whisper squeezed like that leaves its voiced audio without words, which the
    coverage check decodes again."""
    return _without_sentences(segments, lambda sentence: not _said(sentence, speech, voiced))


def without_echoes(segments: Sequence[Segment]) -> tuple[list[Segment], int]:
    """``segments`` without the sentences whisper wrote again right after themselves where
    they were said once: the words the sentence before ends with ("Yes. Yes.", "Okay, okay.
    Okay."), starting where it ends (``ECHO_GAP_S``), every word of the copy one whisper all
    but ruled out (``ECHO_PROBABILITY``). Returns the segments left and how many sentences
    went.

    On a short answer whisper often goes on with the answer again: of 48 one- and two-word
    clips (six voices), "yes" came back "Yes. Yes." on three and "okay" "Okay. Okay." on three,
    raw faster-whisper alike, the copy at 0.00-0.07 probability and laid over the end of the
    one word said. A word counted twice doubles a naming task's syllables. A speaker who says
    it again ("No. No.") is heard saying it: whisper gives that copy its own time and a
    probability well above these."""
    sentences = [sentence for segment in segments for sentence in segment.sentences()]
    # Sentences are frozen values: ``_without_sentences`` splits the segments again, and the
    # same words and times compare equal.
    echoes = {after for before, after in pairwise(sentences) if _echoes(before, after)}
    return _without_sentences(segments, lambda sentence: sentence in echoes)


def without_made_up_ending(segments: Sequence[Segment]) -> tuple[list[Segment], int]:
    """``segments`` without a closing phrase whisper hung on the end of the speech: the
    recording's last sentence, of ``CLOSING_WORDS`` words or fewer, starting where the sentence
    before ends (``ECHO_GAP_S``) with a word whisper all but ruled out (``ECHO_PROBABILITY``)
    and gave no time. Returns the segments left and how many sentences went (0 or 1).

    "…ask what you can do for your country. Thank you." with "Thank" at 0.02-0.03 and no
    duration, "you." laid over the end of "country": JFK after his own take 20 dB quieter, and
    JFK 20 dB louder, clipped; his recording alone has no such sentence. Its words lie on the
    last word's voiced audio, so ``without_unvoiced_segments`` keeps it. A speaker who says it
    is heard saying it: whisper gives its first word time and a probability well above this."""
    sentences = [sentence for segment in segments for sentence in segment.sentences()]
    if len(sentences) < 2 or not sentences[-1].words or not sentences[-2].words:
        return list(segments), 0
    before, last = sentences[-2], sentences[-1]
    first = last.words[0]
    if (
        len(last.words) > CLOSING_WORDS
        or first.probability >= ECHO_PROBABILITY
        or first.end > first.start
        or first.start - before.words[-1].end > ECHO_GAP_S
    ):
        return list(segments), 0
    return _without_sentences(segments, lambda sentence: sentence == last)


def _echoes(before: Segment, after: Segment) -> bool:
    """Whether ``after`` is whisper's copy of the end of ``before`` (``without_echoes``)."""
    return (
        bool(after.words)
        and len(after.words) <= len(before.words)
        and [normalise(w.word) for w in after.words]
        == [normalise(w.word) for w in before.words[-len(after.words) :]]
        and after.words[0].start - before.words[-1].end <= ECHO_GAP_S
        and all(w.probability < ECHO_PROBABILITY for w in after.words)
    )


def _without_sentences(
    segments: Sequence[Segment], drop: Callable[[Segment], bool]
) -> tuple[list[Segment], int]:
    """``segments`` without their sentences (``Segment.sentences``) that ``drop`` picks: a
    segment keeps its shape when none goes, and becomes the rest of its words when some do.
    Returns the segments left and how many sentences went."""
    kept: list[Segment] = []
    removed = 0
    for segment in segments:
        sentences = segment.sentences()
        left = [s for s in sentences if not drop(s)]
        removed += len(sentences) - len(left)
        if len(left) == len(sentences):
            kept.append(segment)
        elif left:
            kept.append(Segment.from_words([w for s in left for w in s.words]))
    return kept, removed


def _said(sentence: Segment, speech: Sequence[Span], voiced: np.ndarray) -> bool:
    """Whether ``sentence`` (words and times) may have been said where whisper put it: most
    of its words on voiced audio, and, from ``TIMED_SYLLABLES`` on, enough voiced audio
    under it for its syllables."""
    words = sentence.words
    if 2 * sum(_on_voice(w, speech, voiced) for w in words) < len(words):
        return False
    syllables = sum(estimate_syllables(w.word) for w in words)
    if syllables < TIMED_SYLLABLES:
        return True
    voiced_s = float(np.sum(voiced[frames(words[0].start, words[-1].end)])) * FRAME_S
    return voiced_s >= MIN_VOICED_PER_SYLLABLE_S * syllables


def _on_voice(word: Word, speech: Sequence[Span], voiced: np.ndarray) -> bool:
    """Whether some frame of ``word`` is above the silence level, or half of it is VAD speech.

    Whisper hangs a made-up closing word on the last voiced frame ("Thank" from the end of
    the speech into the silence after it); neither test accepts that.
    """
    if voiced[frames(word.start, word.end)].any():
        return True
    inside = sum(max(0.0, min(b, word.end) - max(a, word.start)) for a, b in speech)
    if word.end > word.start:
        return inside >= 0.5 * (word.end - word.start)
    return any(a <= word.start <= b for a, b in speech)


def without_misplaced_copies(
    segments: Sequence[Segment], window: Span, found: Sequence[Segment]
) -> tuple[list[Segment], list[Span]]:
    """``segments`` without the sentences outside ``window`` but within ``COPY_NEAR_S`` of it
    that its retry ``found`` also wrote, word for word: whole sentences, at least
    ``COPY_WORDS`` words in all. Returns the segments left and where the copies lay.

    A batched window that whisper ended early keeps the words it did write, but word alignment
    can lay them over the wrong part of the window: on a lecture, "The pilot felt confused the
    day before yesterday, so we decided to learn a few words on Spanish." landed 20 s late, over
    "…airport arrived. Everyone was delighted. Excuse me, is this the way…", and the audio where
    it was said had no words. The repair of that audio writes the sentence where it was said;
    the copy hides the speech under it, which the caller decodes again once the copy is gone. A
    retry decodes only its own audio with no previous text, so it cannot have taken the words
    from the first pass: of the two copies, the first pass's is the one out of place. Whole
    sentences only: a phrase said twice ("to learn a few words on Spanish" in two different
    sentences) is not a copy.
    """
    retry = [normalise(w.word) for s in found for w in s.words]
    held = [w for s in segments for w in s.words]
    sides = (
        [k for k, w in enumerate(held) if window[0] - COPY_NEAR_S <= w.middle < window[0]],
        [k for k, w in enumerate(held) if window[1] <= w.middle < window[1] + COPY_NEAR_S],
    )
    copies: list[list[int]] = []
    for side in sides:
        texts = [normalise(held[k].word) for k in side]
        # Runs written alike in both, in order (the stdlib's longest-match alignment).
        matcher = SequenceMatcher(None, texts, retry, autojunk=False)
        for first, _, size in matcher.get_matching_blocks():
            run = side[first : first + size]
            starts = [n for n, k in enumerate(run) if k == 0 or held[k - 1].ends_sentence]
            ends = [n for n, k in enumerate(run) if held[k].ends_sentence]
            if starts and ends and ends[-1] + 1 - starts[0] >= COPY_WORDS:
                copies.append(run[starts[0] : ends[-1] + 1])
    # A copy runs from a sentence's start to a sentence's end: whole sentences go.
    laid = [(held[run[0]].start, held[run[-1]].end) for run in copies]
    kept, _ = _without_sentences(
        segments,
        lambda sentence: (
            bool(sentence.words)
            and any(all(span[0] <= w.middle <= span[1] for w in sentence.words) for span in laid)
        ),
    )
    return kept, laid


def splice(
    segments: Sequence[Segment],
    window: Span,
    found: Sequence[Segment],
    gaps: Sequence[Span],
    speech: Sequence[Span],
    underwritten: Sequence[Span] = (),
) -> tuple[list[Segment], int]:
    """``segments`` with a retry of ``window`` (``found``, recording time) worked in.

    If the retry's words cover more of the window's voiced audio than the words held there,
    or write far more syllables (``WRITES_MORE``) over its ``underwritten`` speech (drawn-out
    words over speech whisper skipped, ``underwritten_speech``), it replaces them inside the
    window (its padding excepted, where both heard the same words cut by the window's edge);
    otherwise only its words that fall in ``gaps`` are added. A decoder loop in the retry
    (``looped_speech``) takes no part in that comparison and replaces nothing: its copies,
    spread over the window, cover its audio whatever was said there (under GENERIC kernels a
    repair widened to "I finally found my glasses under the sofa cushion.", which the first
    pass held, wrote "ahh..." fourteen times in its place). Its words may still fill the gaps,
    where nothing is held: a task said over and over ("pa-ta-ka" …) is written the same way
    again. A segment the new words fall inside is split around them. Returns the segments
    and how many words the transcript gained.
    """
    core = (window[0] + REPAIR_PAD_S, window[1] - REPAIR_PAD_S)
    retry = [w for s in found for w in s.words]
    looped = looped_speech(retry)
    heard = [w for w in retry if not _in_loop(w, looped)]
    held = [w for s in segments for w in s.words if _inside(w, window)]
    voiced = _intersect(speech, window)
    under = [span for span in underwritten if window[0] < span[1] and span[0] < window[1]]
    if _covered_s(voiced, heard) > _covered_s(voiced, held) + MIN_UNCOVERED_S / 2 or (
        _syllables_in(under, heard) >= WRITES_MORE * _syllables_in(under, held) + WRITES_MORE
    ):
        keep = [[w for w in s.words if not _inside(w, core)] for s in segments]
        new = [w for w in heard if _inside(w, core)]
    else:
        keep = [list(s.words) for s in segments]
        kept = [w for words in keep for w in words]
        new = [
            w
            for w in retry
            if _overlaps((w.start, w.end), gaps, WORD_SLACK_S / 2)
            and not any(_same_time(w, k) for k in kept)
        ]
    before = sum(len(s.words) for s in segments)
    tagged = [(w, i) for i, words in enumerate(keep) for w in words]
    tagged += [(w, len(segments)) for w in new]
    if not new and len(tagged) == before:
        return list(segments), 0
    tagged.sort(key=lambda pair: (pair[0].start, pair[0].end))
    runs: list[list[Word]] = []
    last = -1
    for word, owner in tagged:
        if owner != last:
            runs.append([])
            last = owner
        runs[-1].append(word)
    wordless = [s for s in segments if not s.words]
    rebuilt = [Segment.from_words(run) for run in runs]
    return sorted(rebuilt + wordless, key=lambda s: s.start), len(tagged) - before


def _syllables_in(spans: Sequence[Span], words: Sequence[Word]) -> int:
    """Syllables of the ``words`` whose middles lie in ``spans``."""
    return sum(
        estimate_syllables(w.word) for w in words if any(a <= w.middle < b for a, b in spans)
    )


def _inside(word: Word, span: Span) -> bool:
    return span[0] <= word.middle < span[1]


def _intersect(spans: Sequence[Span], window: Span) -> list[Span]:
    return [
        (max(a, window[0]), min(b, window[1])) for a, b in spans if a < window[1] and window[0] < b
    ]


def _covered_s(voiced: Sequence[Span], words: Sequence[Word]) -> float:
    """Seconds of ``voiced`` that ``words`` cover, as ``uncovered_speech`` counts cover."""
    total = sum(b - a for a, b in voiced)
    return total - sum(b - a for a, b in uncovered_speech(voiced, words, min_s=0.0))


def _same_time(a: Word, b: Word) -> bool:
    shared = min(a.end, b.end) - max(a.start, b.start)
    return shared > 0.5 * max(1e-3, min(a.end - a.start, b.end - b.start))


def _overlaps(span: Span, spans: Sequence[Span], slack: float) -> bool:
    start, end = span
    return any(start < b + slack and a - slack < end for a, b in spans)


def joined(spans: Any) -> list[Span]:
    """``spans`` in time order, those that overlap or touch made one."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(span: Span, covered: Sequence[Span]) -> list[Span]:
    """The pieces of ``span`` that none of ``covered`` (in time order) lies on."""
    start, end = span
    left: list[Span] = []
    for a, b in covered:
        if b <= start or a >= end:
            continue
        if a > start:
            left.append((start, a))
        start = max(start, b)
    if start < end:
        left.append((start, end))
    return left
