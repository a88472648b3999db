"""A second, targeted decoding for the fillers whisper smooths away.

At natural pace whisper's language model turns a short filler into a word it finds likelier:
"So uh the meeting" comes back "So I'm a meeting", "erm the keys" as "I'm looking". The word it
wrote instead is one it was unsure of. Each stretch around such a word (probability below
``SUSPECT_PROBABILITY``, or below ``LOOKALIKE_PROBABILITY`` for a word whisper writes for a
filler, ``LOOKALIKES``; not a name, ``_names``; ``SUSPECT_CONTEXT_S`` either side, neighbours
joined) is decoded again, slowed (``TEMPO``), with a prompt full of fillers (``FILLER_PROMPT``):
whisper writes what its prompt looks like and keeps the fillers of slow speech, so now it
writes the filler it heard.
The stretches are laid end to end, a short silence between, into whisper windows (``packed``),
and the windows are sent a few to a call, which the local backend decodes as one batch
(``dealt``): a few calls per recording, not one per stretch.
A prompt also makes whisper copy fillers that were never said, so a filler from this pass is
kept only where the first pass leaves room for it: over a word the first pass was unsure of, or
over voiced audio no first-pass word covers, and with no filler already written nearby
(``supported_fillers``). Whisper's word times are too loose to place a short filler by time alone
("Well, um, I think", every word sure, has the second pass's "erm" within ``ROOM_S`` of three):
a filler the two texts, aligned, put between two words both passes wrote stands for the voiced
audio the first pass left between them, or for the audio the second pass left between them when
no pause lies there ("I think uh we": the first pass's "think" runs over the "uh"; the second
writes "think, uh, we", 0.23 s between "think" and "we", sound all the way), or for the unsure
word the aligned texts put it in place of, laid on its sound or a lookalike beside it
(``_in_place_of_unsure``: "am I think" against "Well, erm, I think"). A filler in
a stretch whisper was guessing at (its other words unsure, ``WELL_READ``) is only listed to
review, unless whisper went on from it with the first pass's words (``RESUME_WORDS``: "Uh, the
kids are up" against "Her kids are still", the filler put before the phrase both heard); one
written again and again in a window is the prompt looping, not a filler said (``_without_loops``).
A filler kept becomes evidence for the interjection detector (``pipelines.metrics``), not a word
of the transcript: the transcript stays what the first pass wrote.

English only: the prompt and the filler spellings are English.
"""

from __future__ import annotations

import asyncio
import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from itertools import accumulate, pairwise
from typing import Any

import numpy as np

from pipelines.alignment import FRAME_S, trimmed
from pipelines.audio import stretched
from pipelines.fillers import filler_loops, is_filler, normalise
from pipelines.types import (
    SAMPLE_RATE,
    AudioArray,
    AudioSource,
    SendSamples,
    Span,
    TranscriptionOptions,
    Word,
    runs,
)

FILLER_PROMPT = "Um, so, uh, we were, er, thinking that, erm, ah, we could, uh, go, um, there."
"""Fillers in every spelling the detector reads, around ordinary words, and no repetition:
a repeated word in the prompt gets copied into fluent speech."""
SUSPECT_PROBABILITY = 0.5
"""A first-pass word below this probability may be a filler written as a word."""
LOOKALIKES = frozenset({"i'm", "am"})
"""Words whisper writes for a filler it took for speech ("um we walked" -> "I'm reworked",
"go um swimming" -> "go, I'm swimming", "well um I think" -> "Well, am I think"): suspects up
to ``LOOKALIKE_PROBABILITY``."""
LOOKALIKE_PROBABILITY = 0.6
"""Below this a lookalike is a suspect (0.52 and 0.55 for the two fillers above; whisper's
"I'm" where no one said it or "um" in the fluent long recordings: 0.43 and 0.66-0.86)."""
SUSPECT_CONTEXT_S = 1.0
"""Audio decoded either side of a suspect word, so whisper hears it in its phrase."""
ROOM_S = 0.2
"""How far a second-pass filler may sit from the first-pass word it stands for (their times
are both whisper's and loose)."""
NEARBY_FILLER_S = 0.5
"""A first-pass filler this close already accounts for a second-pass one."""
MIN_VOICED = 0.3
"""Share of voiced frames a filler needs under it, and around it (``ROOM_S`` either side) when
it falls between first-pass words."""
MIN_GAP_S = 0.1
"""A filler the second pass writes between two words both passes wrote stands for the audio
between them in the first pass when it is at least this long and voiced (``MIN_VOICED``)."""
PAUSE_S = 0.1
"""Or for the audio between them in the second pass, as long, when no silence in it lasts this
long: sound all the way from one word to the next, no pause (``_heard_between``; a stop's
closure, 20-80 ms, is no pause)."""
TEMPO = 0.75
"""The suspect stretches are played to whisper at this speed, slowed with the pitch kept
(``pipelines.audio.stretched``): tiny.en writes the fillers of slow speech and smooths those
of natural pace away. Decoding labelled clips whole with the filler prompt, it wrote 13 of 34
fillers at their own pace, 23 at 0.75 and 20 at 0.6, and none on 12 fluent clips at any
(README, "Disfluency detection")."""
PACK_S = 14.0
"""Suspect stretches are decoded together, packed into one whisper window of up to this long
(about 19 s once slowed to ``TEMPO``). Whisper encodes 30 s whatever it is given: one 2 s
stretch alone costs the same encoder pass as a full window, and decoding a 10-minute
recording's 47 stretches one by one took three times as long as its first pass. A longer pack
costs more when whisper loops on it ("erm, erm, erm, …" to its token cap, then again at higher
temperatures): ``conversation_no_tail``'s slowed stretches took 6.9-9.0 s of one thread packed
into 21 s (3 calls, one looping), 5.3-5.9 s into 14 s (5 calls, none) and 7.4-7.8 s into 10 s
(7 calls)."""
PACK_GAP_S = 0.6
"""Silence between packed stretches: a pause, so whisper ends one phrase before the next."""
CALL_PACKS = 4
"""Packs sent in one call, each its own whisper window: the local backend decodes them as one
batch (its ``batch_size``, 4), each without the others' text, as it would alone. One pack a call
decoded sequentially took 14.4 s of one thread on ``conversation_no_tail``'s 6 packs and 20.1 s
on ``speech_10min``'s 12; the same packs in calls of 3, 7.0 and 13.6 s (README, "Disfluency
detection")."""
SLOT_PAD_S = 0.5
"""Silence after each slowed pack in a call, past where the tempo puts its last sound."""


RESUME_WORDS = 2
"""A filler the second pass went on from with one of its next this many words (not fillers) as
the first pass wrote them was put before the phrase both passes heard ("Uh, the kids are" against
"Her kids are"): said, even in a stretch whisper was guessing at. One whisper wrote in place of a
word and went on with nothing ("not at, erm," against "not at seven.") or with more of the prompt
(a loop) is not."""
WELL_READ = 0.6
"""Mean probability of the second pass's other words in a stretch from which whisper read it
well: below it whisper was guessing at the stretch, and a filler in a guess is as often its
prompt read in (a filler is then listed to review, ``HeardFiller.doubtful``)."""


@dataclass(frozen=True, slots=True)
class HeardFiller:
    """A filler the second pass wrote where the first pass wrote something else or nothing."""

    start: float
    end: float
    text: str
    reading: float = 1.0
    """How sure whisper was of the rest of the stretch: its other words' mean probability."""
    resumed: bool = False
    """Whether the second pass went on from it with a word the first pass wrote too, within
    ``RESUME_WORDS``: the filler was put before the phrase both passes heard, not written in
    place of a word."""

    @property
    def doubtful(self) -> bool:
        """Whether whisper was guessing at the stretch around it (``WELL_READ``) and did not
        go on from it with the phrase the first pass heard."""
        return self.reading < WELL_READ and not self.resumed

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "text": self.text,
            "reading": round(self.reading, 3),
            "resumed": self.resumed,
        }


@dataclass(frozen=True, slots=True)
class SecondPass:
    """What the second pass decoded and found."""

    windows: tuple[Span, ...]
    fillers: tuple[HeardFiller, ...]


def suspect_windows(words: Sequence[Word], duration_s: float) -> list[Span]:
    """Stretches around first-pass words whisper was unsure of, joined where they touch.

    An edge that falls inside a word moves out to that word's edge: a stretch cut inside a
    word hears only part of it, and whisper writes what it heard there in the word's place
    ("going to um bring", "to" timed over the "um", cut after its "t": "Um, bring", the
    filler over a word the first pass was sure of, so taken for the prompt copied).
    """
    starts = [w.start for w in words]
    ends = [w.end for w in words]
    windows: list[Span] = []
    names = _names(words)
    for word in words:
        if not _unsure(word) or word in names:
            continue
        start = max(0.0, word.start - SUSPECT_CONTEXT_S)
        end = min(duration_s, word.end + SUSPECT_CONTEXT_S)
        if (cut := bisect_right(ends, start)) < len(words) and words[cut].start < start:
            start = words[cut].start
        if (cut := bisect_left(starts, end) - 1) >= 0 and words[cut].end > end:
            end = min(duration_s, words[cut].end)
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
    after_kept = False  # whether the word before is a filler kept: "um, uh" is one pause
    between, replaced, agreed = _aligned(first, second)
    names = _names(first)
    others = [w.probability for w in second if not is_filler(w.word)]
    reading = float(np.mean(others)) if others else 0.0
    for j, word in enumerate(second):
        if not is_filler(word.word) or after_kept:
            after_kept = after_kept and is_filler(word.word)
            continue
        start, end = word.start, max(word.end, word.start + FRAME_S)
        if any(
            is_filler(w.word)
            and w.start < end + NEARBY_FILLER_S
            and start < w.end + NEARBY_FILLER_S
            for w in first
        ):
            continue
        # The word under the filler's middle, when there is one, is the one it stands for;
        # a sure word there is the prompt copied, whatever unsure word is near. A filler
        # whisper gave no time lies between the two words it touches: either may be it.
        middle = word.middle
        under = [w for w in first if w.start <= middle <= w.end] or [
            w for w in first if w.start < end + ROOM_S and start < w.end + ROOM_S
        ]
        if under:
            supported = (
                any(_unsure(w) and w not in names for w in under)
                or (
                    j in between
                    and (_voiced_gap(*between[j], voiced) or _heard_between(second, j, voiced))
                )
                or _in_place_of_unsure(word, [w for w in replaced.get(j, ()) if w not in names])
            )
        else:
            supported = _voiced_share(voiced, start - ROOM_S, end + ROOM_S) >= MIN_VOICED
        # And it is said: a filler laid on the silence after the speech (an unsure closing
        # word near it) is the prompt read into nothing.
        if supported and _voiced_share(voiced, start, end) >= MIN_VOICED:
            text = word.word.strip(" ,.?!")
            after = [k for k in range(j + 1, len(second)) if not is_filler(second[k].word)]
            kept.append(
                HeardFiller(
                    start=start,
                    end=end,
                    text=text,
                    reading=reading,
                    resumed=any(k in agreed for k in after[:RESUME_WORDS]),
                )
            )
            after_kept = True
    return kept


def _aligned(
    first: Sequence[Word], second: Sequence[Word]
) -> tuple[dict[int, tuple[Word, Word]], dict[int, Sequence[Word]], set[int]]:
    """The two passes' texts aligned. For each word of ``second`` put between two first-pass
    words with nothing of the first pass in its place, those two words; for each put in the
    place of first-pass words, those words; and the words of ``second`` the first pass wrote
    too."""
    said = [normalise(w.word) for w in first]
    matcher = SequenceMatcher(None, said, [normalise(w.word) for w in second], autojunk=False)
    between: dict[int, tuple[Word, Word]] = {}
    replaced: dict[int, Sequence[Word]] = {}
    agreed: set[int] = set()
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            agreed.update(range(j1, j2))
        for j in range(j1, j2):
            if tag == "insert" and 0 < i1 < len(first):
                between[j] = (first[i1 - 1], first[i1])
            elif tag == "replace":
                replaced[j] = first[i1:i2]
    return between, replaced, agreed


def _in_place_of_unsure(filler: Word, replaced: Sequence[Word]) -> bool:
    """Whether ``filler`` stands for the unsure word the first pass wrote in its place: of the
    first-pass words the aligned texts put it in place of, the one nearest it in time is a
    word whisper was unsure of, laid on the filler's own sound ("am I think" against "erm, I
    think", "am" 0.49 from 1.02 to 1.04 s, "erm" from 1.02 to 1.13 s, its middle on the sure
    "I"), or a lookalike (``LOOKALIKES``) within ``ROOM_S`` of it ("kid, I'm still" against
    "are, erm, still", 0.03 s apart). A hallucinated, unsure word beside a filler laid inside
    a sure one ("celebrate. Thank" against "celebrate, um.") is neither."""
    if not replaced:
        return False
    nearest = min(replaced, key=lambda w: abs(w.middle - filler.middle))
    room = ROOM_S if normalise(nearest.word) in LOOKALIKES else 0.0
    end = max(filler.end, filler.start + FRAME_S)
    return _unsure(nearest) and nearest.start < end + room and filler.start < nearest.end + room


def _voiced_gap(left: Word, right: Word, voiced: np.ndarray) -> bool:
    """Whether the first pass left at least ``MIN_GAP_S`` of voiced audio between two words."""
    return (
        right.start - left.end >= MIN_GAP_S
        and _voiced_share(voiced, left.end, right.start) >= MIN_VOICED
    )


def _heard_between(second: Sequence[Word], j: int, voiced: np.ndarray) -> bool:
    """Whether the second pass timed its filler ``second[j]`` between two words at least
    ``MIN_GAP_S`` apart with no pause between them (``PAUSE_S``)."""
    if j == 0 or j + 1 >= len(second):
        return False
    left, right = second[j - 1], second[j + 1]
    return (
        not is_filler(left.word)
        and not is_filler(right.word)
        and right.start - left.end >= MIN_GAP_S
        and _longest_silence(voiced, left.end, right.start) < PAUSE_S
    )


def _longest_silence(voiced: np.ndarray, start: float, end: float) -> float:
    """The longest run of unvoiced frames from ``start`` to ``end``, in seconds."""
    first, past = runs(~_frames(voiced, start, end))
    return int(np.max(past - first, initial=0)) * FRAME_S


def _names(words: Sequence[Word]) -> frozenset[Word]:
    """The words of ``words`` that are names: capitalised inside a sentence ("and then Lucy
    tried", "sorry, Oliver, but"). Whisper is unsure of a name because its language model
    expects few, not because it wrote the name for a filler; prompted with fillers, it writes
    one before the name ("then, erm, Lucy"): three of the eight interjections counted in the
    fluent long recordings lay on an unsure name. A capitalised word opening a sentence, or a
    stretch, may be any word and stays a suspect; so do "I" and its forms."""
    return frozenset(
        word
        for before, word in pairwise(words)
        if word.word[:1].isupper()
        and normalise(word.word) not in _I_FORMS
        and not before.ends_sentence
    )


_I_FORMS = frozenset({"i", "i'm", "i'll", "i've", "i'd"})


def _unsure(word: Word) -> bool:
    """Whether whisper may have written ``word`` for a filler (a suspect)."""
    if is_filler(word.word):
        return False
    lookalike = normalise(word.word) in LOOKALIKES
    return word.probability < (LOOKALIKE_PROBABILITY if lookalike else SUSPECT_PROBABILITY)


def _voiced_share(voiced: np.ndarray, start: float, end: float) -> float:
    """The share of ``voiced`` frames from ``start`` to ``end`` (0 where there are none)."""
    frames = _frames(voiced, start, end)
    return float(np.mean(frames)) if len(frames) else 0.0


def _frames(voiced: np.ndarray, start: float, end: float) -> np.ndarray:
    """The frames of ``voiced`` from the one ``start`` falls in to the one ``end`` falls in."""
    return voiced[max(0, int(start / FRAME_S)) : int(end / FRAME_S) + 1]


async def second_pass(
    audio: AudioSource,
    words: Sequence[Word],
    voiced: np.ndarray,
    options: TranscriptionOptions,
    send: SendSamples,
    spread: int = 1,
) -> SecondPass:
    """Decode the suspect stretches of ``audio`` again with ``FILLER_PROMPT``, slowed to
    ``TEMPO`` and packed into as few whisper windows as they fit, the windows sent in a
    multiple of ``spread`` calls (``dealt``, through ``send``), and keep the supported fillers."""
    windows = suspect_windows(words, audio.samples / SAMPLE_RATE)
    prompted = replace(options, prompt=FILLER_PROMPT, word_timestamps=True)
    calls = dealt(packed(windows), spread)
    results = await asyncio.gather(*(_decode(call, audio, prompted, send) for call in calls))
    fillers: list[HeardFiller] = []
    for call, heard in zip(calls, results, strict=True):
        for window, second in zip((w for pack in call for w in pack), heard, strict=True):
            first = [w for w in words if window[0] <= w.middle <= window[1]]
            fillers.extend(supported_fillers(first, _onsets_voiced(second, voiced), voiced))
    return SecondPass(windows=tuple(windows), fillers=tuple(fillers))


def _without_loops(words: Sequence[Word]) -> list[Word]:
    """``words`` less the copies of a filler whisper wrote again and again (``FILLER_LOOP``),
    from the first copy on: its prompt looping, not fillers said. Read over a whole pack, since
    a loop runs to whisper's token cap across the pack's stretches and pauses: on a lecture's
    fluent stretches, "ah," 49 times over 12 s, the last four at one instant after a 3 s gap."""
    loops = filler_loops([(w.word, w.start, w.end) for w in words])
    looped = {normalise(words[first].word): first for first, _ in reversed(loops)}
    return [w for i, w in enumerate(words) if i < looped.get(normalise(w.word), len(words))]


def _onsets_voiced(words: Sequence[Word], voiced: np.ndarray) -> list[Word]:
    """``words`` each starting where its sound does: whisper starts a stretch's first word at
    the stretch's start, over the silence before the speech ("Er" from 0.01 s for an "uh"
    said at 0.32 s), and a filler laid mostly on silence is not said (``supported_fillers``).
    Only the start moves: a filler whisper laid on the silence after the speech must still
    read as laid there, and trimmed to the last sound of the word before it would not. A first
    word laid wholly on the silence before the speech ("Er" from 0.0 to 0.02 s, the "uh" said
    at 0.92 s, "I" from 1.26 s) was said with the first sound after it: it runs from there to
    the next word. A word alone in its stretch stays where whisper laid it."""
    onsets = [replace(w, start=trimmed(w, voiced).start) for w in words]
    if len(onsets) < 2 or _frames(voiced, onsets[0].start, onsets[0].end).any():
        return onsets
    first, until = onsets[0], onsets[1].start
    after = math.ceil(first.end / FRAME_S)
    sound = np.flatnonzero(voiced[after : math.ceil(until / FRAME_S)])
    if sound.size and (start := (after + int(sound[0])) * FRAME_S) < until:
        onsets[0] = replace(first, start=start, end=until)
    return onsets


def packed(windows: Sequence[Span]) -> list[list[Span]]:
    """``windows`` in order, grouped so each group with ``PACK_GAP_S`` between its windows
    lasts at most ``PACK_S`` (a longer window is a group of its own)."""
    packs: list[list[Span]] = []
    length = 0.0
    for window in windows:
        size = window[1] - window[0]
        if packs and length + PACK_GAP_S + size <= PACK_S:
            packs[-1].append(window)
            length += PACK_GAP_S + size
        else:
            packs.append([window])
            length = size
    return packs


def dealt(packs: Sequence[list[Span]], spread: int = 1) -> list[list[list[Span]]]:
    """``packs`` in order, dealt into calls of at most ``CALL_PACKS`` (each one batch of whisper
    windows), as many as that needs rounded up to a multiple of ``spread`` (the transcribers
    that work on one recording at once), with as even a number of packs in each as can be."""
    if not packs:
        return []
    calls = math.ceil(len(packs) / CALL_PACKS)
    calls = min(len(packs), calls + -calls % spread)
    size, extra = divmod(len(packs), calls)
    bounds = accumulate((size + (i < extra) for i in range(calls)), initial=0)
    return [list(packs[a:b]) for a, b in pairwise(bounds)]


async def _decode(
    call: Sequence[Sequence[Span]],
    audio: AudioSource,
    options: TranscriptionOptions,
    send: SendSamples,
) -> list[list[Word]]:
    """Each window's words, in recording time, from one call: each pack's windows laid end to
    end with ``PACK_GAP_S`` of silence between and slowed, in a slot of its own (``_Pack``)
    decoded as one whisper window; a word is its window's when its middle falls inside it."""
    packs = [_Pack.of(pack) for pack in call]
    slots = list(accumulate((pack.slot for pack in packs[:-1]), initial=0))  # where each starts

    def read() -> AudioArray:
        return np.concatenate([pack.slowed(audio) for pack in packs])

    windows = tuple(
        (at / SAMPLE_RATE, (at + pack.slot) / SAMPLE_RATE)
        for at, pack in zip(slots, packs, strict=True)
    )
    result = await send(read, replace(options, windows=windows))
    written = [w for segment in result.segments for w in segment.words if w.word.strip()]
    heard: list[list[list[Word]]] = [[[] for _ in pack.spans] for pack in packs]
    for pack, at, out in zip(packs, slots, heard, strict=True):
        mine = [w for w in written if at <= w.middle * SAMPLE_RATE < at + pack.slot]
        shift = at / SAMPLE_RATE
        for w in _without_loops(mine):
            pack.place(Word(w.word.strip(), w.start - shift, w.end - shift, w.probability), out)
    return [words for pack in heard for words in pack]


@dataclass(frozen=True, slots=True)
class _Pack:
    """A pack's stretches (in samples of the recording) laid end to end with ``PACK_GAP_S`` of
    silence between (``offsets``: where each starts), slowed to ``TEMPO``, in a slot of ``slot``
    samples: the slowed audio and some silence after it."""

    spans: tuple[tuple[int, int], ...]
    offsets: tuple[int, ...]
    slot: int

    @classmethod
    def of(cls, pack: Sequence[Span]) -> _Pack:
        spans = tuple((round(a * SAMPLE_RATE), round(b * SAMPLE_RATE)) for a, b in pack)
        gap = round(PACK_GAP_S * SAMPLE_RATE)
        lengths = [end - start + gap for start, end in spans]
        offsets = tuple(accumulate(lengths[:-1], initial=0))
        slot = math.ceil((sum(lengths) - gap) / TEMPO + SLOT_PAD_S * SAMPLE_RATE)
        return cls(spans=spans, offsets=offsets, slot=slot)

    def slowed(self, audio: AudioSource) -> AudioArray:
        """The slot's samples: the stretches read, joined, slowed; cut or padded to ``slot``
        (``stretched`` lays speech within tens of ms of where the tempo puts it, and appends
        silence)."""
        silence = np.zeros(round(PACK_GAP_S * SAMPLE_RATE), dtype=np.float32)
        pieces = [piece for start, end in self.spans for piece in (audio.read(start, end), silence)]
        out = stretched(np.concatenate(pieces[:-1]), TEMPO)[: self.slot]
        return np.pad(out, (0, self.slot - len(out)))

    def place(self, word: Word, heard: list[list[Word]]) -> None:
        """Add ``word`` (times from the start of the slot, slowed) to the words ``heard`` in
        the stretch its middle falls in, in recording time; none if it falls in a gap."""
        middle = word.middle * TEMPO * SAMPLE_RATE  # in the pack as laid, not slowed
        for (start, end), offset, out in zip(self.spans, self.offsets, heard, strict=True):
            if offset <= middle <= offset + end - start:
                shift = (start - offset) / SAMPLE_RATE
                out.append(
                    Word(
                        word.word,
                        word.start * TEMPO + shift,
                        word.end * TEMPO + shift,
                        word.probability,
                    )
                )
                return
