"""Fluency metrics from a verbatim transcript's word timings: rates, pauses, disfluencies, %SS.

Pure functions of the merged transcript's words (times in seconds from the start of the
recording), so the report's numbers never depend on an LLM. Every threshold is a field of
``MetricsSettings``; the conventions, with their sources, are documented where each measure is
computed.

Vocabulary used below: a *token* is one transcribed word; a *filler* is a filled pause ("um");
a token is *cut* when the transcript marks it as broken off with a hyphen or dash ("b-",
"went—"); it *ends a clause* when punctuation after it (".", ",", "…") makes a pause expected.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from itertools import accumulate, pairwise
from typing import Any, Literal, overload

import numpy as np

from pipelines.coverage import Sound, subtract, uncovered_speech
from pipelines.fillers import (
    backchannel_half,
    filler_runs,
    is_backchannel,
    is_filler,
    is_hum,
    normalise,
)
from pipelines.repeats import CLOSE, Repeat
from pipelines.second_pass import LOOKALIKES, HeardFiller
from pipelines.syllables import (
    SYLLABLE_LANGUAGES,
    count_syllables,
    estimate_syllables,
    speech_language,
)
from pipelines.types import Span, Word, millisecond, runs

DisfluencyType = Literal["interjection", "repetition", "revision", "prolongation", "block"]
DISFLUENCY_TYPES: tuple[DisfluencyType, ...] = (
    "interjection",
    "repetition",
    "revision",
    "prolongation",
    "block",
)

RepetitionKind = Literal["part_word", "whole_word", "phrase"]
Evidence = Literal["transcript", "timing", "acoustic", "second_pass", "clinician"]
"""What an event rests on: the words as transcribed, their timing, the sound itself, a second
decoding of a short window around a suspect span, or a clinician who added it in review."""

_CUT_MARKS = ("-", "‐", "–", "—")
_CLAUSE_ENDS = (".", ",", ";", ":", "!", "?", "…")
_SENTENCE_ENDS = (".", "!", "?")
_BREAKS = (",", ";", "...", "…")
_HYPHENS = re.compile(r"[-‐–—]+")
_EMPHATIC = frozenset("no yes yeah yep nope okay ok very".split())
"""Words speakers say again for emphasis or as an answer ("no, no, no", "very very big", "okay,
okay"), which is no disfluency (repetitions for emphasis are not counted); and "No, no" is what
whisper writes for stuttered syllables it cannot spell ("duh duh dinner"): a whole-word
repetition of one is listed to review."""
_STOP_FIRST = re.compile(
    r"^(?:[bdq]|g(?![eiyn])|g(?=et|iv|irl|ift|ear|eese|iggl|igs?$)|p(?![fhns])|t(?![hsz])|k(?!n)"
    r"|c(?![ehiy]))"
)
"""A word spelt with a stop consonant first (b, d, g, p, t, k, hard c, q; not "th", "ph", "ch",
"kn", a soft c or g): a stop is a closure and a release, and cannot be held as a sound. A "g"
before e or i is soft ("gentle", "giant") except in the common English words where it is hard
("get", "give", "girl", "gift", "gear", "geese", "giggle", "gig")."""
_REDUPLICATIONS = frozenset({"bye", "so", "no", "yo", "ha", "night", "tut", "choo", "hush"})
"""Words written doubled with a hyphen that are words, not repetitions ("so-so", "bye-bye")."""
_CONFIDENCE = {
    "filler": 0.9,
    "in_word": 0.9,
    "fragment": 0.85,
    "whole_word": 0.85,
    "phrase": 0.8,
    "silence": 0.75,
    "paced_silence": 0.5,
    "repeated_syllable": 0.7,
    "cut_off": 0.7,
    "restart": 0.7,
    "drawn_out_onset": 0.65,
    "heard_repeat": 0.65,
    "second_pass_filler": 0.65,
    "second_pass_filler_guessed": 0.5,
    "long_word": 0.65,
    "stop_first": 0.5,
    "over_untranscribed": 0.5,
    "restart_after_comma": 0.6,
    "heard_repeat_doubted": 0.6,
    "unworded_sound": 0.5,
    "heard_repeat_loose": 0.5,
    "parallel_after_comma": 0.5,
    "emphatic": 0.5,
    "unclear": 0.5,
    "loop_like": 0.5,
}
"""Confidence of each rule's events. Whisper writes a filler or a stutter only when it heard one;
a repeated syllable may be a real word said twice; a word stretched by whisper's timing looks
like a prolongation; two stretches of audio that sound alike back to back are a repetition
whisper did not write, though now and then two different syllables ("to lo") sound alike, and
less alike ones as often are, unless whisper doubted its words there too; parallel lists ("we
saw lions, we saw tigers") read like restarts after a comma. Two clauses that differ in one
inner word after a comma and end there ("the dog ran, the cat ran.") are as often parallel as
restarted; a long silence between phrases, no longer than the speaker's other pauses inside
sentences, is as often their pacing as a block; a sound no word covers is as often whisper's
loose word timing as a filler; a word drawn out, or a silence, over voiced audio left without
words is as often whisper's word laid over (or gap left at) speech it could not write (another
language, a lost sentence) as a sound held or a block; a filler the second pass wrote in a
stretch it was guessing at is as often its prompt read in; a word speakers say again for
emphasis ("no, no, no") is as often said so on purpose; a long word written five times or more
is as often a decoder loop as a speaker's; and in a stretch whisper was guessing at
(``unclear_speech``), any rule's evidence is the guess: those fall below
``MetricsSettings.review_below``, listed "to review", not counted."""
_FUNCTION_WORDS = frozenset(
    "a an the i me my we our you your he him his she her it its they them their this that these"
    " those to of in on at by for from with as and or but so if then than not no do did is are"
    " was were be been am can will would could should shall may might must has have had go".split()
)
"""Short words speakers repeat whole ("to to tell"): never read as a repeated first syllable."""
_SUBJECTS = frozenset("i we they he she".split())
_DETERMINERS = frozenset("a an the my your our their this that these those".split())
_MODALS = frozenset("can could will would should shall may might must do does did".split())
_COORDINATORS = frozenset("and or nor".split())
"""Words that add the next item to a list."""
_OPENERS = (
    _SUBJECTS
    | _DETERMINERS
    | _MODALS
    | frozenset("you it there let's what why how when where who".split())
)
_ARTICLES_AND_POSSESSIVES = frozenset("a an the my your our their".split())
_OBJECTS = frozenset("me it them us him".split())
"""A word and one of these after a broken-off article or possessive ("put it on the, leave it
by the door", "pass the, give me the salt") is a verb and its object, a new phrase: a noun
phrase does not go on so. Not "her" or "you", which may start a noun phrase or an aside."""
_PREPOSITIONS = frozenset("of in on at by for from with into about to".split())
_RESTARTS_AFTER = {
    **dict.fromkeys(_ARTICLES_AND_POSSESSIVES, _OPENERS),
    **dict.fromkeys(_SUBJECTS, _OPENERS - _MODALS - {"it", "you", "there"}),
    **dict.fromkeys(_PREPOSITIONS - {"to"}, _SUBJECTS | _MODALS | {"let's"}),
}
"""Words a phrase cannot end on (an article or possessive, a subject pronoun, a preposition),
each with the words that, said next, begin a new phrase rather than finish the broken one:
after "the," any subject, determiner, modal or question word does ("can you pass the, could
you"); after "she," a modal may finish it ("she, um, could come"), so only a new subject or
determiner counts ("I think she, I know she"); after "on," a determiner or object finishes it
("on, uh, the table"), so only a subject or modal counts. Modals ("we should,") and "to" are
not here: "yes we can," and "if you want to," end phrases by ellipsis; a subject and modal
alone ("we should,") are, when a new clause follows (``_MODAL_RESTARTS``)."""

_OPEN_ENDED = frozenset(_RESTARTS_AFTER) | _COORDINATORS | {"to", "but"}
"""Words a phrase cannot end on, and "to" and the conjunctions: a silence after one is inside
a phrase wherever the speaker pauses (``_find_blocks``)."""
_PACE_PAUSES = 2
"""Pauses inside sentences besides a long silence that show how long the speaker pauses there
(``_paced``)."""
_PACE_SHARE = 0.4
"""How long, against a long silence, the speaker's other pauses inside sentences are when it is
their pacing (``_paced``). JFK's "what your country" follows 1.12 s of silence; his other
pauses are 1.02 and 0.78 s, and 0.30 s after "And so," where whisper under GENERIC kernels
puts a gap: their lower quartile 0.54 s, under half."""
_MODAL_RESTARTS = _SUBJECTS | {"let's"}
"""Words that, after a clause of only a subject and a modal ("we should,"), begin a new clause:
the modal's verb was never said ("we should, let's order pizza"). Not "you" ("we could, you
know, wait") nor a subject saying what it thinks (``_ASIDES``)."""
_ASIDES = frozenset("think guess mean suppose believe hope reckon know".split())
"""Verbs of an aside after a subject ("we should, I think, leave"): not a new clause."""
_ASKED = _SUBJECTS | {"you", "it"}
"""Who a question asks about, after its modal ("can you", "will it")."""

_INTRODUCERS = frozenset(
    "in on at after before during near along across behind beside by from with without since"
    " until through under over inside outside around past beyond because when whenever while"
    " although though if unless once as where later earlier yesterday today tonight tomorrow"
    " then first finally afterwards meanwhile suddenly usually sometimes".split()
)
"""Words that open an introductory phrase or clause (a preposition, a subordinator, an adverb
of time), which a comma closes."""
_HYPHENATED_PREFIXES = frozenset({"re", "co", "pre", "de", "un", "non", "dis", "mis", "sub", "pro"})
"""Prefixes written with a hyphen ("re-record", "co-counsel") that look like part-word
repetitions when the word starts with the same letters."""


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    """Thresholds for pauses and disfluency detection; defaults follow the cited literature."""

    pause_min_s: float = 0.25
    """Shortest silence counted as a pause. 250 ms is the classic cut-off below which gaps are
    articulatory (stop closures), not pauses (Goldman-Eisler 1968)."""
    long_pause_s: float = 2.0
    """Pauses at least this long are listed as long pauses: well past the "long" band (>1 s) of
    Campione & Véronis (2002), so a listed pause is one a listener notices as a breakdown."""
    block_min_s: float = 1.0
    """A silence at least this long inside a sentence is a block."""
    prolongation_ratio: float = 3.0
    """A word is prolonged when its first syllable (the word less the speaker's median duration
    per syllable for each other syllable) lasts this many times that median..."""
    prolongation_min_s: float = 0.8
    """...and the word lasts at least this long, so short words with jittery timestamps do not
    qualify."""
    baseline_min_words: int = 5
    """Fewer eligible words than this and the median is not trusted; the reference is used."""
    reference_syllable_s: float = 0.2
    """Per-syllable duration assumed when the sample is too short for a median (5 syllables/s,
    a typical adult articulation rate)."""
    max_phrase_words: int = 4
    """Longest phrase looked at for phrase repetitions and revisions."""
    onset_attach_s: float = 0.15
    """A sound outside the words that ends this close before a word is that word's onset,
    drawn out (a prolongation); further away it is a sound of its own."""
    prolonged_onset_ratio: float = 2.0
    """With a drawn-out onset heard, a word (onset included) this many times the speaker's
    duration per syllable is a prolongation..."""
    prolonged_onset_min_s: float = 0.6
    """...when the whole lasts at least this long. Shorter than ``prolongation_min_s``: the
    sound is heard running on into the word, not read off whisper's word times."""
    filler_sound_s: float = 0.35
    """A voiced sound outside the words at least this long, attached to no word, is a filled
    pause whisper wrote no word for..."""
    filler_sound_max_s: float = 3.0
    """...and no longer than this: a filled pause lasts a syllable or a few held; a tonal sound
    outside the words for longer is a hum, music or a machine (a 50 Hz mains hum alone, 20 s,
    was one "filled pause" of 20 s to review). Speech the VAD hears there is the coverage
    check's (decoded again, or listed as not transcribed)."""
    review_below: float = 0.6
    """Events less certain than this are listed "to review": shown, but not counted in %SS,
    SLD or the counts by type until a clinician confirms them."""
    unclear_words: int = 5
    unclear_probability: float = 0.3
    """Words in windows of ``unclear_words`` in a row whose mean probability is below
    ``unclear_probability``, less those at either end whisper was sure of, and still that many
    words: a stretch it was guessing at, speech it could not make out (another language, noise,
    mumbling). Its words there are no evidence, so an event found there is listed to review,
    not counted (``unclear_speech``, ``FluencyMetrics.unclear``)."""
    untranscribed_notice_share: float = 0.05
    """Voiced audio without words (``FluencyMetrics.untranscribed``) from this share of the
    speech up is worth a notice: the counts and rates may miss that much of it. Below, it is
    breaths, noise and drawn-out sounds."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetricsSettings:
        """The thresholds a metrics dict names (``FluencyMetrics.to_dict``'s ``settings``);
        keys this version does not know are left out, missing ones take the defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True, slots=True)
class DisfluencyEvent:
    """One disfluency, with the words as transcribed and its time span in the recording."""

    type: DisfluencyType
    text: str
    start: float
    end: float
    subtype: RepetitionKind | None = None
    """For repetitions: part_word, whole_word or phrase."""
    stuttering_like: bool = False
    """Counted as a stuttering-like disfluency (SLD) in the sense of Yairi & Ambrose."""
    confidence: float = 1.0
    """How sure the detector is, 0-1: set per rule, from how often that evidence misleads."""
    evidence: tuple[Evidence, ...] = ("transcript",)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "subtype": self.subtype,
            "text": self.text,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "stuttering_like": self.stuttering_like,
            "confidence": round(self.confidence, 2),
            "evidence": list(self.evidence),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DisfluencyEvent:
        """The event ``to_dict`` wrote (other keys, such as a review's ``to_review``, ignored)."""
        return cls(
            type=data["type"],
            text=data["text"],
            start=float(data["start"]),
            end=float(data["end"]),
            subtype=data.get("subtype"),
            stuttering_like=bool(data.get("stuttering_like", False)),
            confidence=float(data.get("confidence", 1.0)),
            evidence=tuple(data.get("evidence", ("transcript",))),
        )


@dataclass(frozen=True, slots=True)
class Pause:
    """A silent gap between two words."""

    start: float
    end: float

    @property
    def duration_s(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, float]:
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "duration_s": round(self.duration_s, 3),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Pause:
        return cls(start=float(data["start"]), end=float(data["end"]))


@dataclass(frozen=True, slots=True)
class FluencyMetrics:
    """Everything the report states as a number. Rates are 0.0, never NaN, when undefined.

    Syllable figures are None when the speech's language has no syllable counting
    (``syllables_supported``): a count by another language's rules would be a guess.
    """

    duration_s: float
    speaking_span_s: float
    """From the first word's start to the last word's end: the speaking turn."""
    speech_time_s: float
    """The speaking span less its pauses: time spent producing speech."""
    word_count: int
    """Every transcribed word, fillers and fragments included."""
    syllable_count: int | None
    """Syllables spoken, counted as for %SS (see ``compute_metrics``)."""
    words_per_minute: float
    syllables_per_minute: float | None
    """None where syllables are not counted (``language``) or nothing was said."""
    articulation_rate: float | None
    """Syllables per second of speech time; None likewise."""
    pause_count: int
    mean_pause_s: float
    long_pause_count: int
    long_pauses: tuple[Pause, ...]
    disfluencies: tuple[DisfluencyEvent, ...]
    """The confident events: counted in every number below."""
    to_review: tuple[DisfluencyEvent, ...]
    """Less certain events (``settings.review_below``): listed for a clinician, not counted."""
    disfluencies_per_minute: float
    stuttering_like_disfluencies: int
    other_disfluencies: int
    sld_per_100_syllables: float | None
    """None where syllables are not counted or nothing was said, as %SS."""
    stuttered_syllables: int
    """Distinct words a stuttering-like disfluency targets: the numerator of %SS."""
    percent_syllables_stuttered: float | None
    """None where syllables are not counted (``language``) or nothing was said: no number
    rather than a 0 that reads as fluent speech."""
    counts_by_type: dict[str, int]
    settings: MetricsSettings = field(default_factory=MetricsSettings)
    language: str = "en"
    """The speech's language, whose rules counted the syllables."""
    untranscribed: tuple[Span, ...] = ()
    """Voiced audio of a second or more that no word covers, left after the coverage repairs
    (``pipelines.coverage.uncovered_speech``): speech in another language, overlapping voices,
    speech too unclear for the model, or noise. Nothing in it is counted."""
    unclear: tuple[Span, ...] = ()
    """Stretches whose words whisper was guessing at (``unclear_speech``): another language,
    mumbling, noise. Events there are listed to review, none counted."""

    @property
    def disfluency_count(self) -> int:
        return len(self.disfluencies)

    @property
    def unclear_s(self) -> float:
        return sum(end - start for start, end in self.unclear)

    @property
    def untranscribed_s(self) -> float:
        return sum(end - start for start, end in self.untranscribed)

    @property
    def untranscribed_share(self) -> float:
        """Voiced audio without words as a share of it and the speech time together."""
        heard = self.speech_time_s + self.untranscribed_s
        return self.untranscribed_s / heard if heard > 0 else 0.0

    @property
    def untranscribed_notice(self) -> bool:
        """Whether enough voiced audio has no words that the numbers may miss speech."""
        return bool(self.untranscribed) and (
            self.untranscribed_share >= self.settings.untranscribed_notice_share
        )

    @property
    def syllables_supported(self) -> bool:
        """Whether syllables were counted for this language (``SYLLABLE_LANGUAGES``)."""
        return self.syllable_count is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, floats rounded to milliseconds or hundredths, thresholds included."""
        return {
            "language": self.language,
            "syllables_supported": self.syllables_supported,
            "duration_s": round(self.duration_s, 3),
            "speaking_span_s": round(self.speaking_span_s, 3),
            "speech_time_s": round(self.speech_time_s, 3),
            "word_count": self.word_count,
            "syllable_count": self.syllable_count,
            "words_per_minute": round(self.words_per_minute, 2),
            "syllables_per_minute": _rounded(self.syllables_per_minute, 2),
            "articulation_rate": _rounded(self.articulation_rate, 2),
            "pause_count": self.pause_count,
            "mean_pause_s": round(self.mean_pause_s, 3),
            "long_pause_count": self.long_pause_count,
            "long_pauses": [p.to_dict() for p in self.long_pauses],
            "disfluency_count": self.disfluency_count,
            "disfluencies": [e.to_dict() for e in self.disfluencies],
            "to_review_count": len(self.to_review),
            "to_review": [e.to_dict() for e in self.to_review],
            "disfluencies_per_minute": round(self.disfluencies_per_minute, 2),
            "stuttering_like_disfluencies": self.stuttering_like_disfluencies,
            "other_disfluencies": self.other_disfluencies,
            "sld_per_100_syllables": _rounded(self.sld_per_100_syllables, 2),
            "stuttered_syllables": self.stuttered_syllables,
            "percent_syllables_stuttered": _rounded(self.percent_syllables_stuttered, 2),
            "counts_by_type": dict(self.counts_by_type),
            "untranscribed_s": round(self.untranscribed_s, 3),
            "untranscribed": [[round(a, 3), round(b, 3)] for a, b in self.untranscribed],
            "untranscribed_share": round(self.untranscribed_share, 4),
            "untranscribed_notice": self.untranscribed_notice,
            "unclear_s": round(self.unclear_s, 3),
            "unclear": [[round(a, 3), round(b, 3)] for a, b in self.unclear],
            "settings": asdict(self.settings),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FluencyMetrics:
        """The metrics ``to_dict`` wrote, e.g. a stored annotation's, to render a report from
        them without measuring again. Derived keys (the counts of lists) are recomputed."""
        return cls(
            duration_s=data["duration_s"],
            speaking_span_s=data["speaking_span_s"],
            speech_time_s=data["speech_time_s"],
            word_count=data["word_count"],
            syllable_count=data["syllable_count"],
            words_per_minute=data["words_per_minute"],
            syllables_per_minute=data["syllables_per_minute"],
            articulation_rate=data["articulation_rate"],
            pause_count=data["pause_count"],
            mean_pause_s=data["mean_pause_s"],
            long_pause_count=data["long_pause_count"],
            long_pauses=tuple(Pause.from_dict(p) for p in data["long_pauses"]),
            disfluencies=tuple(DisfluencyEvent.from_dict(e) for e in data["disfluencies"]),
            to_review=tuple(DisfluencyEvent.from_dict(e) for e in data["to_review"]),
            disfluencies_per_minute=data["disfluencies_per_minute"],
            stuttering_like_disfluencies=data["stuttering_like_disfluencies"],
            other_disfluencies=data["other_disfluencies"],
            sld_per_100_syllables=data["sld_per_100_syllables"],
            stuttered_syllables=data["stuttered_syllables"],
            percent_syllables_stuttered=data["percent_syllables_stuttered"],
            counts_by_type=dict(data["counts_by_type"]),
            settings=MetricsSettings.from_dict(data.get("settings", {})),
            language=data["language"],
            untranscribed=tuple((float(a), float(b)) for a, b in data.get("untranscribed", ())),
            unclear=tuple((float(a), float(b)) for a, b in data.get("unclear", ())),
        )


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


@dataclass(frozen=True, slots=True)
class _Token:
    raw: str
    norm: str
    """Lower case, edge punctuation and hyphens removed; inner hyphens and apostrophes kept."""
    start: float
    end: float
    filler: bool
    cut: bool
    clause_end: bool
    sentence_end: bool
    """A full stop, question or exclamation mark after it (an ellipsis is a hesitation)."""
    probability: float
    """Whisper's probability for the word (1 for a word a clinician wrote)."""
    paused: bool = False
    """A pause whisper's times hide follows it: a silence from its start to the next word's
    (``pipelines.coverage.hidden_pauses``), which the transcript may show by no comma."""


@dataclass(slots=True)
class _Found:
    """Events found so far, the SLD's target tokens, and syllables not to count."""

    review_below: float
    syllables: Callable[[str], int]
    """Syllables of a word for detection (word lengths, "one-syllable word")."""
    unclear: Sequence[Span] = ()
    """Stretches whisper was guessing at (``unclear_speech``): an event there is to review."""
    untranscribed: Sequence[Span] = ()
    """Voiced audio left without words: a prolongation or block over it is to review."""
    events: list[DisfluencyEvent] = field(default_factory=list)
    stuttered_tokens: set[int] = field(default_factory=set)
    syllable_overrides: dict[int, int] = field(default_factory=dict)
    in_repetition_or_revision: set[int] = field(default_factory=set)

    def add(
        self,
        tokens: Sequence[_Token],
        first: int,
        last: int,
        kind: DisfluencyType,
        *,
        confidence: float,
        subtype: RepetitionKind | None = None,
        stuttered_token: int | None = None,
        evidence: tuple[Evidence, ...] = ("transcript",),
    ) -> None:
        self.event(
            DisfluencyEvent(
                type=kind,
                text=" ".join(t.raw for t in tokens[first : last + 1]),
                start=tokens[first].start,
                end=tokens[last].end,
                subtype=subtype,
                stuttering_like=stuttered_token is not None,
                confidence=confidence,
                evidence=evidence,
            ),
            stuttered_token,
        )
        if kind in {"repetition", "revision"}:
            self.in_repetition_or_revision.update(range(first, last + 1))

    def overlaps(
        self,
        start: float,
        end: float,
        *,
        types: set[DisfluencyType] | None = None,
        slack_s: float = 0.0,
    ) -> bool:
        """Whether an event found so far (of ``types``, default any) overlaps ``start``-``end``
        widened by ``slack_s`` either side."""
        return bool(self.overlapping(start, end, types=types, slack_s=slack_s))

    def overlapping(
        self,
        start: float,
        end: float,
        *,
        types: set[DisfluencyType] | None = None,
        slack_s: float = 0.0,
    ) -> list[int]:
        """The indices of the events ``overlaps`` looks for."""
        return [
            k
            for k, e in enumerate(self.events)
            if (types is None or e.type in types)
            and e.start - slack_s < end
            and start < e.end + slack_s
        ]

    def event(self, event: DisfluencyEvent, stuttered_token: int | None) -> None:
        """Record ``event``; only a confident one makes its word a stuttered syllable. One in a
        stretch whisper was guessing at is to review, however sure its rule; so is a
        prolongation or block over voiced audio left without words (``untranscribed``, more
        than a word's syllables may cover, ``pipelines.coverage``): whisper lays the last word
        it wrote over speech it could not write, or leaves a gap there, and in
        ``multilingual.mp3`` (the MIT licence read in English, then in another language) "you",
        "so" and "very" were drawn over 3.3, 4.6 and 14.9 s of it, a "block" over 3.9 s."""
        if _overlaps(event, self.unclear):
            event = replace(event, confidence=min(event.confidence, _CONFIDENCE["unclear"]))
        if event.type in {"prolongation", "block"} and _overlaps(event, self.untranscribed):
            confidence = min(event.confidence, _CONFIDENCE["over_untranscribed"])
            event = replace(event, confidence=confidence)
        self.events.append(event)
        if stuttered_token is not None and event.confidence >= self.review_below:
            self.stuttered_tokens.add(stuttered_token)


def compute_metrics(
    words: Sequence[Word],
    duration_s: float,
    settings: MetricsSettings | None = None,
    sounds: Sequence[Sound] = (),
    language: str = "en",
    repeats: Sequence[Repeat] = (),
    fillers: Sequence[HeardFiller] = (),
    untranscribed: Sequence[Span] = (),
    pauses: Sequence[Span] = (),
) -> FluencyMetrics:
    """Fluency metrics for one recording from its transcript's words and its duration.

    ``sounds`` are the stretches of audio no word covers (``pipelines.coverage``): whisper
    smooths fillers and drawn-out onsets away, but the sound is still there. ``language`` is
    the speech's ("de", "pt-BR"; see ``speech_language``): its rules count the syllables.
    ``repeats`` are the stretches heard said again at once (``pipelines.repeats``): repetitions
    whisper wrote only once; ``fillers`` those a second decoding with a filler prompt wrote where
    the first wrote another word (``pipelines.second_pass``); ``untranscribed`` the voiced audio
    the coverage repairs left without words (the transcript's ``coverage.unrecovered``),
    reported and counted nowhere; ``pauses`` the short silences whisper laid words over (the
    transcript's ``coverage.pauses``), where a phrase may have been broken off with no comma
    written. For a language without them, every syllable figure is None;
    detection, which needs only word lengths ("a one-syllable word repeated"), uses
    ``estimate_syllables`` and reports nothing per syllable.
    """
    settings = settings or MetricsSettings()
    tokens = _with_pauses(_tokens(words), pauses)
    language = speech_language(language)
    syllables = _syllable_counter(language)
    left = uncovered_speech(untranscribed, words)
    unclear = unclear_speech(words, settings)
    found = _Found(
        review_below=settings.review_below,
        syllables=syllables,
        unclear=unclear,
        untranscribed=left,
    )
    _find_interjections(tokens, found)
    _find_repetitions_and_revisions(tokens, settings, found, repeats)
    ordinary = _eligible(tokens, found, pauses)
    baseline = _syllable_baseline(ordinary, settings)
    heard = _find_heard_repetitions(tokens, repeats, baseline, found)
    prolonged = _find_sounds(tokens, sounds, baseline, settings, found)
    _find_prolongations(tokens, ordinary, baseline, settings, found, skip=prolonged | heard)
    _drop_what_prolongations_were_taken_for(tokens, settings, found)
    _drop_syllables_written_as_fillers(tokens, found)
    _count_heard_repetitions(tokens, found)
    _find_blocks(tokens, settings, found, sounds)
    _find_second_pass_fillers(tokens, fillers, found)
    return _tally(
        tokens,
        counted=[e for e in found.events if e.confidence >= settings.review_below],
        to_review=[e for e in found.events if e.confidence < settings.review_below],
        stuttered_tokens=found.stuttered_tokens,
        syllable_overrides=found.syllable_overrides,
        duration_s=duration_s,
        settings=settings,
        language=language,
        untranscribed=left,
        unclear=unclear,
    )


def _overlaps(event: DisfluencyEvent, spans: Sequence[Span]) -> bool:
    return any(start < event.end and event.start < end for start, end in spans)


def unclear_speech(words: Sequence[Word], settings: MetricsSettings) -> list[Span]:
    """The stretches whisper was guessing at: runs of words in windows of
    ``MetricsSettings.unclear_words`` whose mean probability is below ``unclear_probability``,
    less the words it was sure of at either end (at least ``_SURE_WORD``), that still hold
    ``unclear_words`` words; each from its first word's start to its last word's end."""
    n = settings.unclear_words
    if len(words) < n:
        return []
    probability = np.array([w.probability for w in words])
    guessing = np.convolve(probability, np.ones(n) / n, "valid") < settings.unclear_probability
    # A word is in a guessed run when any window of n words holding it is.
    flagged = np.convolve(guessing, np.ones(n), "full") > 0
    spans: list[Span] = []
    for first, past in zip(*runs(flagged), strict=True):
        unsure = first + np.flatnonzero(probability[first:past] < _SURE_WORD)
        if len(unsure) and unsure[-1] - unsure[0] + 1 >= n:
            spans.append((words[unsure[0]].start, words[unsure[-1]].end))
    return spans


_SURE_WORD = 0.5
"""A word whisper gave at least this probability is not part of a stretch it was guessing at."""


def count_events(
    words: Sequence[Word],
    counted: Sequence[DisfluencyEvent],
    duration_s: float,
    settings: MetricsSettings | None = None,
    *,
    to_review: Sequence[DisfluencyEvent] = (),
    language: str = "en",
    untranscribed: Sequence[Span] = (),
) -> FluencyMetrics:
    """Fluency metrics for events as given (a clinician's review), not detected.

    The numbers are ``compute_metrics``' (one ``_tally``); what detection knows about each
    event, this works out from the event's time span (``_placed``): the word it targets, whether
    it is stuttering-like, and which iterations add no syllables. ``to_review`` events are
    listed and not counted. A given ``stuttering_like`` is ignored: it follows from the type.
    ``untranscribed`` is the automatic analysis's voiced audio without words: what the given
    words now cover (a clinician wrote what was said there) is left out of it.
    """
    settings = settings or MetricsSettings()
    tokens = _tokens(words)
    language = speech_language(language)
    syllables = _syllable_counter(language)
    placed = [_placed(tokens, event, syllables) for event in counted]
    stuttered: set[int] = set()
    overrides: dict[int, int] = {}
    for event, target, silent in placed:
        if not event.stuttering_like or target is None:
            continue
        stuttered.add(target)
        if event.type == "repetition":
            overrides.update(dict.fromkeys(silent, 0))
            overrides[target] = syllables(_last_part(tokens[target]))
    return _tally(
        tokens,
        counted=[event for event, _, _ in placed],
        to_review=[_placed(tokens, event, syllables)[0] for event in to_review],
        stuttered_tokens=stuttered,
        syllable_overrides=overrides,
        duration_s=duration_s,
        settings=settings,
        language=language,
        untranscribed=uncovered_speech(untranscribed, words),
        unclear=unclear_speech(words, settings),
    )


_GIVEN_TIME_SLACK_S = 0.0005
"""Stored times are rounded to milliseconds: a word's middle on an event's edge is inside."""


def _placed(
    tokens: Sequence[_Token], event: DisfluencyEvent, syllables: Callable[[str], int]
) -> tuple[DisfluencyEvent, int | None, list[int]]:
    """A given event with its stuttering-like flag set, the word it targets, and the words of
    a stuttering-like repetition that add no syllables.

    The event's words are those whose middle lies in its span. The target is the word a
    detector would name: the first of a whole-word repetition ("I I I"; one only heard, the
    word said again: ``_word_said_again``), the last of anything else (the word the fragments
    of "b- b- but" start, the prolonged word), or, when the span holds no word (a block is a
    silence), the word that follows it. Stuttering-like (Yairi &
    Ambrose): prolongations, blocks, part-word repetitions and whole-word repetitions of a
    one-syllable word. The iterations of such a repetition, fillers aside, count as one
    syllable of its target ("b- b- but" and "I I I" add one syllable each); in one only heard,
    another word whisper was sure of is a word said beside the copies, not one of them
    (``_heard_beside``).
    """
    inside = [
        i
        for i, t in enumerate(tokens)
        if event.start - _GIVEN_TIME_SLACK_S
        <= (t.start + t.end) / 2
        <= event.end + _GIVEN_TIME_SLACK_S
    ]
    heard = _heard_repetition(event)
    if inside:
        whole_word = event.type == "repetition" and event.subtype == "whole_word"
        target: int | None = inside[0] if whole_word else inside[-1]
        if whole_word and heard:
            target = _word_said_again(tokens, inside, event.end)
    else:
        target = next(
            (i for i, t in enumerate(tokens) if t.start >= event.end - _GIVEN_TIME_SLACK_S), None
        )
    if event.type in {"prolongation", "block"}:
        stuttering_like = True
    elif event.type == "repetition" and event.subtype == "part_word":
        stuttering_like = True
    elif event.type == "repetition" and event.subtype == "whole_word":
        stuttering_like = target is not None and syllables(_last_part(tokens[target])) == 1
    else:
        stuttering_like = False
    silent = []
    if stuttering_like and event.type == "repetition":
        silent = [
            i
            for i in inside
            if i != target
            and not tokens[i].filler
            and not (heard and target is not None and _heard_beside(tokens[i], tokens[target]))
        ]
    text = event.text or " ".join(tokens[i].raw for i in inside)
    if not text and target is not None:
        text = tokens[target].raw
    return replace(event, text=text, stuttering_like=stuttering_like), target, silent


def _last_part(token: _Token) -> str:
    """The word a hyphenated repetition ends in ("b-b-but" → "but")."""
    return _HYPHENS.split(token.norm)[-1] or token.norm


def _syllable_counter(language: str) -> Callable[[str], int]:
    """Syllables of a word by ``language``'s rules, estimated where it has none."""

    def syllables(word: str) -> int:
        counted = count_syllables(word, language)
        return estimate_syllables(word) if counted is None else counted

    return syllables


def _tally(
    tokens: Sequence[_Token],
    *,
    counted: Sequence[DisfluencyEvent],
    to_review: Sequence[DisfluencyEvent],
    stuttered_tokens: set[int],
    syllable_overrides: dict[int, int],
    duration_s: float,
    settings: MetricsSettings,
    language: str,
    untranscribed: Sequence[Span],
    unclear: Sequence[Span],
) -> FluencyMetrics:
    """Every number of the report from the words and the events that count.

    ``stuttered_tokens`` are the words a counted stuttering-like event targets;
    ``syllable_overrides`` the words whose syllables are not counted as spelled (fragments,
    the extra iterations of a stuttering-like repetition).
    """
    syllables = _syllable_counter(language)
    supported = language in SYLLABLE_LANGUAGES
    events = tuple(sorted(counted, key=lambda e: (e.start, e.end)))
    listed = tuple(sorted(to_review, key=lambda e: (e.start, e.end)))
    syllable_count = sum(syllable_overrides.get(i, syllables(t.raw)) for i, t in enumerate(tokens))
    span = max(t.end for t in tokens) - tokens[0].start if tokens else 0.0
    pauses = _pauses(tokens, settings.pause_min_s)
    speech_time = max(span - sum(p.duration_s for p in pauses), 0.0)
    long_pauses = tuple(p for p in pauses if p.duration_s >= settings.long_pause_s)

    sld = sum(1 for e in events if e.stuttering_like)
    # %SS (Riley, SSI-4, 2009): syllables stuttered / syllables spoken × 100. A stuttered
    # syllable counts once however many iterations or events it carries, so it is the number
    # of distinct words an SLD targets. The denominator is syllable_count: every syllable the
    # speaker produced, fillers and revised words included, with the extra iterations of a
    # stuttering-like repetition not counted ("b-b-but" and "I I I" each add one syllable).
    stuttered = min(len(stuttered_tokens), syllable_count)
    counted_syllables = syllable_count if supported else None
    counts: dict[str, int] = dict.fromkeys(DISFLUENCY_TYPES, 0)
    for event in events:
        counts[event.type] += 1

    return FluencyMetrics(
        duration_s=max(duration_s, 0.0),
        speaking_span_s=span,
        speech_time_s=speech_time,
        word_count=len(tokens),
        syllable_count=counted_syllables,
        # Speech rate over the speaking span, pauses included (the usual "overall speech
        # rate", e.g. Andrews & Ingham 1971); leading and trailing silence is the recording's,
        # not the speaker's, so it is left out.
        words_per_minute=_per_minute(len(tokens), span),
        syllables_per_minute=None if span <= 0 else _per_minute(counted_syllables, span),
        # Articulation rate: syllables per second with pauses of pause_min_s or more removed
        # (Goldman-Eisler 1968; Tsao & Weismer 1997).
        articulation_rate=_ratio(counted_syllables, speech_time),
        pause_count=len(pauses),
        mean_pause_s=statistics.fmean(p.duration_s for p in pauses) if pauses else 0.0,
        long_pause_count=len(long_pauses),
        long_pauses=long_pauses,
        disfluencies=events,
        to_review=listed,
        disfluencies_per_minute=_per_minute(len(events), span),
        # SLD vs other disfluencies (Ambrose & Yairi 1999; Yairi & Ambrose 2005): part-word
        # and monosyllabic whole-word repetitions and disrhythmic phonations (prolongations,
        # blocks) are stuttering-like; interjections, revisions, phrase and multisyllabic
        # whole-word repetitions are other disfluencies. SLD per 100 syllables is their
        # frequency measure.
        stuttering_like_disfluencies=sld,
        other_disfluencies=len(events) - sld,
        sld_per_100_syllables=_per_100(sld, counted_syllables),
        stuttered_syllables=stuttered,
        percent_syllables_stuttered=_per_100(stuttered, counted_syllables),
        counts_by_type=counts,
        settings=settings,
        language=language,
        untranscribed=tuple(untranscribed),
        unclear=tuple(unclear),
    )


@overload
def _per_minute(count: int, seconds: float) -> float: ...
@overload
def _per_minute(count: int | None, seconds: float) -> float | None: ...
def _per_minute(count: int | None, seconds: float) -> float | None:
    if count is None:
        return None
    return 60.0 * count / seconds if seconds > 0 else 0.0


def _ratio(count: int | None, seconds: float) -> float | None:
    """``count`` per second; None where there is no time to divide by (no speech): a rate of
    0 would read as a measurement."""
    if count is None or seconds <= 0:
        return None
    return count / seconds


def _per_100(events: int, syllables: int | None) -> float | None:
    """``events`` per 100 syllables; None without syllables (not counted in this language, or
    no speech): "0 %SS" for a recording with nothing said would read as fluent speech, and put
    a fluent session on the client's progress chart."""
    if not syllables:
        return None
    return 100.0 * events / syllables


def _tokens(words: Sequence[Word]) -> list[_Token]:
    """Words in time order; punctuation-only "words" fold into the word before them. Times equal
    to the millisecond keep the transcript's order: in a transcript stored before a repaired
    stretch's word times were rounded (``pipelines.types.millisecond``), a word whisper gave no
    time ("went to the, we drove", "the," at 30.99 s) lies at 30.990000000000002, and sorted
    after the "we" at 30.99 it would take the comma, and the restart, with it."""
    tokens: list[_Token] = []
    for word in sorted(words, key=lambda w: (millisecond(w.start), millisecond(w.end))):
        raw = unicodedata.normalize("NFKC", word.word).strip()
        norm = normalise(raw)
        if not norm:
            if tokens and raw:
                tokens[-1] = _with_trailing(tokens[-1], raw)
            continue
        start, probability = word.start, word.probability
        if tokens and backchannel_half(tokens[-1].raw, raw):
            # "Mm" and "-hmm.": one word, "Mm-hmm.", a backchannel, not two fillers.
            first = tokens.pop()
            raw, start = first.raw + raw, first.start
            norm, probability = normalise(raw), min(first.probability, probability)
        tail = raw.rstrip("\"'”’)]")
        tokens.append(
            _Token(
                raw=raw,
                norm=norm,
                start=start,
                end=max(word.end, start),
                filler=is_filler(norm),
                cut=tail.endswith(_CUT_MARKS),
                clause_end=tail.endswith(_CLAUSE_ENDS),
                sentence_end=_ends_sentence(tail),
                probability=probability,
            )
        )
    return tokens


def _with_pauses(tokens: list[_Token], pauses: Sequence[Span]) -> list[_Token]:
    """``tokens``, each followed by one of ``pauses`` marked ``paused``: a pause from its
    start to the next token's start."""
    pauses = sorted(pauses)
    starts = [start for start, _ in pauses]
    for i, (token, after) in enumerate(pairwise(tokens)):
        # The last pause begun before the next token is the one that ends latest.
        if (k := bisect_left(starts, after.start)) and pauses[k - 1][1] > token.start:
            tokens[i] = replace(token, paused=True)
    return tokens


def _ends_sentence(text: str) -> bool:
    return text.endswith(_SENTENCE_ENDS) and not text.endswith(("...", "…"))


def _with_trailing(token: _Token, punctuation: str) -> _Token:
    """A token followed by a stand-alone punctuation mark takes on its meaning."""
    return replace(
        token,
        raw=token.raw + punctuation,
        cut=token.cut or punctuation.endswith(_CUT_MARKS),
        clause_end=token.clause_end or punctuation.endswith(_CLAUSE_ENDS),
        sentence_end=token.sentence_end or _ends_sentence(punctuation),
    )


def _pauses(tokens: Sequence[_Token], minimum_s: float) -> list[Pause]:
    """Silences between consecutive words; overlapping word times are not gaps."""
    pauses: list[Pause] = []
    spoken_until = tokens[0].end if tokens else 0.0
    for token in tokens[1:]:
        if token.start - spoken_until >= minimum_s:
            pauses.append(Pause(start=spoken_until, end=token.start))
        spoken_until = max(spoken_until, token.end)
    return pauses


def _find_interjections(tokens: Sequence[_Token], found: _Found) -> None:
    """Each filled pause is one interjection (Yairi & Ambrose: an "other" disfluency). The same
    filler written again with no word between is one pause ("uh, uh, uh"); six times or more is
    a decoder loop, which the coverage check has already taken out and decoded again
    (``pipelines.fillers.FILLER_LOOP``). Different fillers side by side ("hmm... erm") stay
    one each."""
    for first, last in filler_runs([(t.norm, t.start, t.end) for t in tokens]):
        found.add(tokens, first, last, "interjection", confidence=_CONFIDENCE["filler"])


def _find_second_pass_fillers(
    tokens: Sequence[_Token], fillers: Sequence[HeardFiller], found: _Found
) -> None:
    """Fillers whisper wrote only when prompted with fillers, where it first wrote a word it was
    unsure of (``pipelines.second_pass``): interjections. Found last: one inside another event
    (its middle within it: a stutter, a drawn-out sound, a restart) is the prompt read into that
    disfluency, which is already counted; one that only reaches into an event is whisper's loose
    timing of a filler before it ("uh we we we" with "Um" laid over the first "we"). One over
    a sound no word covers, listed to review (``_find_sounds``), is that sound written: two
    signs of one filler, one interjection counted. One in a stretch whisper was guessing at
    (``HeardFiller.doubtful``) is listed to review. One inside a drawn-out word whisper writes
    for a filler (``LOOKALIKES``: the sound before "I'm" taken for its onset, "um the bus"
    written "I'm a monster") is that filler, not a prolongation: one interjection, and no
    stuttered syllable."""
    for filler in fillers:
        middle = (filler.start + filler.end) / 2
        inside = found.overlapping(middle, middle, slack_s=_HEARD_SLACK_S)
        sounds = [k for k in inside if _unworded_sound(found.events[k])]
        drawn = [k for k in inside if _drawn_out_lookalike(found.events[k])]
        if len(inside) > len(sounds) + len(drawn):
            continue
        # A sound under it, or the drawn-out word it was written as, is a second sign.
        guessed = filler.doubtful and not (sounds or drawn)
        event = DisfluencyEvent(
            type="interjection",
            text=filler.text,
            start=filler.start,
            end=filler.end,
            confidence=_CONFIDENCE[
                "second_pass_filler_guessed" if guessed else "second_pass_filler"
            ],
            evidence=("second_pass",),
        )
        if not (sounds or drawn):
            found.event(event, None)
            continue
        k = (drawn or sounds)[0]
        sign = found.events[k]
        found.events[k] = replace(
            event,
            start=min(sign.start, filler.start),
            end=max(sign.end, filler.end),
            evidence=(*sign.evidence, "second_pass"),
        )
        if drawn:  # the prolonged word is said once: no stuttered syllable
            found.stuttered_tokens -= {
                i for i in found.stuttered_tokens if sign.start <= tokens[i].start < sign.end
            }


def _drawn_out_lookalike(event: DisfluencyEvent) -> bool:
    """Whether ``event`` is a prolongation of a word whisper writes for a filler."""
    return event.type == "prolongation" and normalise(event.text) in LOOKALIKES


def _unworded_sound(event: DisfluencyEvent) -> bool:
    """Whether ``event`` is a voiced sound no word covers (``_find_sounds``), to review."""
    return event.type == "interjection" and event.evidence == _SOUND_EVIDENCE


def _find_repetitions_and_revisions(
    tokens: Sequence[_Token],
    settings: MetricsSettings,
    found: _Found,
    repeats: Sequence[Repeat],
) -> None:
    """Scan the words, fillers skipped, for repetitions first and then revisions.

    Fillers are skipped so "my, um, my" is still a repetition of "my". ``repeats`` (heard in
    the audio) tell a word whisper wrote for each copy of a syllable from a word said again.
    """
    content = [i for i, t in enumerate(tokens) if not t.filler]
    norms = [tokens[i].norm for i in content]
    pos = 0
    while pos < len(content):
        steps = (
            _in_word_repetition(tokens, content, pos, found)
            or _part_word_repetition(tokens, content, pos, found)
            or _whole_word_repetition(tokens, content, pos, found, repeats)
            or _phrase_repetition(tokens, content, norms, pos, settings, found)
            or _cut_off_revision(tokens, content, pos, settings, found)
            or _restart_revision(tokens, content, norms, pos, settings, found)
            or _abandoned_revision(tokens, content, pos, settings, found)
            or _asked_again_revision(tokens, content, pos, settings, found)
            or 1
        )
        pos += steps


def _in_word_repetition(
    tokens: Sequence[_Token], content: Sequence[int], pos: int, found: _Found
) -> int:
    """A repetition written as one hyphenated token: "b-b-but", "I-I".

    Every part before the last must be the last part or a proper prefix of it, so compounds
    ("well-known") do not match. Only the last part's syllables are counted.
    """
    i = content[pos]
    parts = [p for p in _HYPHENS.split(tokens[i].norm) if p]
    if len(parts) < 2 or not all(parts[-1].startswith(p) for p in parts[:-1]):
        return 0
    if len(parts) == 2 and parts[0] in _HYPHENATED_PREFIXES:
        return 0
    target = parts[-1]
    if all(p == target for p in parts):
        if target in _REDUPLICATIONS:
            return 0
        monosyllabic = found.syllables(target) == 1
        stuttered = i if monosyllabic else None
        found.add(
            tokens,
            i,
            i,
            "repetition",
            subtype="whole_word",
            stuttered_token=stuttered,
            confidence=_CONFIDENCE["in_word"],
        )
        if monosyllabic:
            found.syllable_overrides[i] = 1
        return 1
    found.add(
        tokens,
        i,
        i,
        "repetition",
        subtype="part_word",
        stuttered_token=i,
        confidence=_CONFIDENCE["in_word"],
    )
    found.syllable_overrides[i] = found.syllables(target)
    return 1


def _part_word_repetition(
    tokens: Sequence[_Token], content: Sequence[int], pos: int, found: _Found
) -> int:
    """Fragments before the word they start: "b- but", "wa- wa- want", "st stop", "b- b-but".

    A fragment is a cut token or one without a vowel, and must be a proper prefix of the word
    that follows. Fragments add no syllables; the word they start is the stuttered syllable.
    """
    end = pos
    while end < len(content) and _is_fragment(tokens[content[end]]):
        end += 1
    if end == pos or end == len(content):
        return 0
    target = content[end]
    word = _HYPHENS.split(tokens[target].norm)[-1]
    fragments = [content[k] for k in range(pos, end)]
    if not all(word.startswith(tokens[f].norm) and word != tokens[f].norm for f in fragments):
        return 0
    found.add(
        tokens,
        fragments[0],
        target,
        "repetition",
        subtype="part_word",
        stuttered_token=target,
        confidence=_CONFIDENCE["fragment"],
    )
    for f in fragments:
        found.syllable_overrides[f] = 0
    found.syllable_overrides[target] = found.syllables(word)
    return end - pos + 1


def _is_fragment(token: _Token) -> bool:
    """Broken off ("b-"), or vowel-less and not an abbreviation with a full stop ("Dr.")."""
    letters = re.sub(r"[^a-z]", "", token.norm)
    if not letters:
        return False
    return token.cut or (not token.clause_end and not re.search(r"[aeiouy]", letters))


def _whole_word_repetition(
    tokens: Sequence[_Token],
    content: Sequence[int],
    pos: int,
    found: _Found,
    repeats: Sequence[Repeat],
) -> int:
    """The same word said again at once: "my my my", "I... I", but not "No. No.".

    Monosyllabic ones are SLD and count one syllable (Yairi & Ambrose); multisyllabic ones
    ("because because") are other disfluencies and every iteration is counted. A word of two
    or more syllables whose copies were heard as units too short to hold them
    (``_heard_as_syllables``) is whisper's spelling of a first syllable said again. A word
    said again for emphasis ("no, no, no", ``_EMPHATIC``), or an article or possessive said
    again that ends the sentence ("my, my."), is listed to review; so is a word of two or more
    syllables written ``_LOOP_COPIES`` times or more, the way a decoder loop writes one
    ("Sufafan, sufafan, …" ten times over speech in another language, each copy sure).
    """
    word = tokens[content[pos]].norm
    end = pos + 1
    while (
        end < len(content)
        and tokens[content[end]].norm == word
        and not tokens[content[end - 1]].sentence_end
    ):
        end += 1
    if end - pos < 2:
        return 0
    first, last = content[pos], content[end - 1]
    if end < len(content) and (
        _starts_like(word, tokens[content[end]].norm, found)
        or _syllable_said_again(word, end - pos, found)
        or _heard_as_syllables(tokens[first], tokens[last], repeats, found)
    ):
        # "buh buh brother", "cut, cut, coffee": at natural pace whisper writes a repeated
        # first syllable as a word of its own; the word it starts is the stuttered one.
        target = content[end]
        found.add(
            tokens,
            first,
            target,
            "repetition",
            subtype="part_word",
            stuttered_token=target,
            confidence=_CONFIDENCE["repeated_syllable"],
        )
        for k in range(pos, end):
            found.syllable_overrides[content[k]] = 0
        return end - pos + 1
    monosyllabic = found.syllables(word) == 1
    stuttered = first if monosyllabic else None
    # A word that needs one after it ending the sentence ("my, my.") is no word said again
    # before the one it leads into: an exclamation, or whisper's spelling of syllables whose
    # word it lost ("muh muh muh Monday is" written "my, my, my, my. This is").
    exclaimed = word in _ARTICLES_AND_POSSESSIVES and tokens[last].sentence_end
    confidence = _CONFIDENCE["emphatic" if word in _EMPHATIC or exclaimed else "whole_word"]
    if not monosyllabic and end - pos >= _LOOP_COPIES:
        confidence = min(confidence, _CONFIDENCE["loop_like"])
    found.add(
        tokens,
        first,
        last,
        "repetition",
        subtype="whole_word",
        stuttered_token=stuttered,
        confidence=confidence,
    )
    if monosyllabic and confidence >= found.review_below:
        for k in range(pos + 1, end):
            found.syllable_overrides[content[k]] = 0
    return end - pos


_LOOP_COPIES = 5
"""Copies of a word of two or more syllables from which a whole-word repetition reads as a
decoder loop: a speaker's own repetitions of such a word ("because because") are a copy or two
more (Yairi & Ambrose), none of the labelled sets' has more than three, and whisper's loops
run to tens."""


def _starts_like(syllable: str, word: str, found: _Found) -> bool:
    """Whether a repeated ``syllable`` is the start of ``word`` said on its own ("buh" of
    "brother", "tah" of "tell"): same first letter, one syllable, not a word that is commonly
    repeated whole ("to to tell", "the the theatre")."""
    return (
        syllable != word
        and syllable[:1] == word[:1]
        and syllable.isalpha()
        and found.syllables(syllable) == 1
        and syllable not in _FUNCTION_WORDS
    )


def _syllable_said_again(word: str, times: int, found: _Found) -> bool:
    """Whether a word said ``times`` times in a row is a syllable, not a word, said again:
    whisper writes "buh buh buh brother" as "mama mama mama", "kuh kuh coffee" as "kill, kill,
    kill". Speakers repeat short function words whole ("I I I", "the the"); a one-syllable
    content word three times or more is a repeated first syllable."""
    return times >= 3 and found.syllables(word) <= 2 and word not in _FUNCTION_WORDS


_SYLLABLES_S = 0.25
"""A heard unit this short holds one syllable: two take 0.3 s and more even at 6.5 syllables
per second, faster than conversational speech."""


def _heard_as_syllables(
    first: _Token, last: _Token, repeats: Sequence[Repeat], found: _Found
) -> bool:
    """Whether a word of two or more syllables that whisper wrote again at once, from
    ``first`` to ``last``, was heard as a unit of one syllable said again: "muh muh mother"
    written "moment, moment", whose copies last 0.15 s each, is no word of two syllables said
    twice."""
    return found.syllables(first.norm) >= 2 and any(
        r.unit_s <= _SYLLABLES_S and r.start < last.end and first.start < r.end for r in repeats
    )


def _phrase_repetition(
    tokens: Sequence[_Token],
    content: Sequence[int],
    norms: Sequence[str],
    pos: int,
    settings: MetricsSettings,
    found: _Found,
) -> int:
    """A multi-word phrase said again at once: "I want I want". Other disfluency. A whole
    sentence said again, each copy ending as one ("How much money? How much money?", a real
    podcast clip of SEP-28k that its three annotators heard as fluent), is as often said so on
    purpose, for emphasis or to a listener who did not hear: listed to review."""
    for n in range(settings.max_phrase_words, 1, -1):
        phrase = norms[pos : pos + n]
        if len(phrase) < n or len(set(phrase)) < 2:
            continue
        repeats = 1
        while norms[pos + repeats * n : pos + (repeats + 1) * n] == phrase:
            repeats += 1
        if repeats > 1:
            ends = [content[pos + k * n - 1] for k in range(1, repeats + 1)]
            opens = content[pos] == 0 or tokens[content[pos] - 1].sentence_end
            sentences = opens and all(tokens[i].sentence_end for i in ends)
            found.add(
                tokens,
                content[pos],
                ends[-1],
                "repetition",
                subtype="phrase",
                confidence=_CONFIDENCE["emphatic" if sentences else "phrase"],
            )
            return repeats * n
    return 0


def _cut_off_revision(
    tokens: Sequence[_Token],
    content: Sequence[int],
    pos: int,
    settings: MetricsSettings,
    found: _Found,
) -> int:
    """A word broken off and not resumed: "I went- I go".

    The abandoned part runs back to the word the speaker restarts with, when that word is
    among the few before the break ("I went-" restarted at "I"); otherwise it is the broken
    word alone. Revisions are other disfluencies.
    """
    i = content[pos]
    if not tokens[i].cut or pos + 1 >= len(content):
        return 0
    restart = tokens[content[pos + 1]].norm
    before = _same_clause_before(tokens, content, pos, settings, found)
    first = next((b for b in before if tokens[content[b]].norm == restart), pos)
    found.add(tokens, content[first], i, "revision", confidence=_CONFIDENCE["cut_off"])
    return 1


def _restart_revision(
    tokens: Sequence[_Token],
    content: Sequence[int],
    norms: Sequence[str],
    pos: int,
    settings: MetricsSettings,
    found: _Found,
) -> int:
    """A phrase restarted with a change after a break: "we were, we are", "I went, um, I go".

    Heuristic: words A then B of the same length (2..max_phrase_words) that differ in exactly
    one word ("I think she, I know she", "send me the, forward me the"), with a comma, dash,
    ellipsis or filler between them. Parallel lists ("we saw lions, we saw tigers") look the
    same in text and are counted too, unless "and" or "or" follows (below); a sentence end
    between them is not a break of this kind.
    After a comma alone, a changed inner word ("the dog ran, the cat ran") counts only when the
    clause goes on after B ("I told him, I asked him to call"): the first version was given up
    for the second. Where B ends its clause too, the two are as often parallel: to review; so
    are two items of a list, B followed by "and" or "or" ("some apples, some pears and bread").
    """
    for n in range(settings.max_phrase_words, 1, -1):
        first, second = norms[pos : pos + n], norms[pos + n : pos + 2 * n]
        if len(second) < n or sum(a != b for a, b in zip(first, second, strict=True)) != 1:
            continue
        if len(set(first)) < n or len(set(second)) < n:
            continue  # "and kill, kill, kill": a repetition, found on the next word
        last = content[pos + n - 1]
        if any(tokens[content[k]].clause_end for k in range(pos, pos + n - 1)):
            continue
        if _broken_after(tokens, last, content[pos + n]):
            hard = tokens[last].cut or any(t.filler for t in tokens[last + 1 : content[pos + n]])
            if hard:
                confidence = _CONFIDENCE["restart"]
            elif (
                _after_an_introduction(tokens, content[pos])
                or _listed(tokens, content, pos + 2 * n - 1)
                or _correlative(tokens, content[pos], second)
                or _elaborated(first, second)
            ):
                confidence = _CONFIDENCE["parallel_after_comma"]
            elif (
                first[-1] != second[-1]
                or first[-1] in _RESTARTS_AFTER
                or _goes_on_after(tokens, content, pos + 2 * n - 1)
            ):
                confidence = _CONFIDENCE["restart_after_comma"]
            else:
                confidence = _CONFIDENCE["parallel_after_comma"]
            found.add(tokens, content[pos], last, "revision", confidence=confidence)
            return n
    return 0


def _elaborated(first: Sequence[str], second: Sequence[str]) -> bool:
    """Whether ``second`` says the prepositional phrase ``first`` again at more length: the
    same preposition, then an article or possessive where ``first`` had its noun ("went to
    Paris, to the Louvre", "at home, at the kitchen table"), the phrase going on past it. As
    often an elaboration as a change of mind."""
    return (
        first[0] in _PREPOSITIONS
        and second[-1] in _ARTICLES_AND_POSSESSIVES
        and first[-1] not in _ARTICLES_AND_POSSESSIVES
    )


def _goes_on_after(tokens: Sequence[_Token], content: Sequence[int], pos: int) -> bool:
    """Whether the clause goes on past ``content[pos]``, with no break after it."""
    last = content[pos]
    return (
        pos + 1 < len(content)
        and not tokens[last].clause_end
        and not _broken_after(tokens, last, content[pos + 1])
    )


def _listed(tokens: Sequence[_Token], content: Sequence[int], pos: int) -> bool:
    """Whether ``content[pos]`` ends an item of a list: the next word, after a comma or not,
    adds another item ("some apples, some pears and a loaf of bread", "…, some pears, or")."""
    return (
        pos + 1 < len(content)
        and not tokens[content[pos]].sentence_end
        and tokens[content[pos + 1]].norm in _COORDINATORS
    )


def _abandoned_revision(
    tokens: Sequence[_Token],
    content: Sequence[int],
    pos: int,
    settings: MetricsSettings,
    found: _Found,
) -> int:
    """A phrase broken off on a word it cannot end on and started afresh: "can you pass the,
    could you hand me", "the keys are on, they are under the table".

    The word before the break is one a phrase cannot end on and the word after it begins a new
    phrase (``_RESTARTS_AFTER``), so the broken phrase was neither finished nor continued. The
    abandoned part runs back to the start of its clause, at most ``max_phrase_words`` words.
    """
    i = content[pos]
    restarts = _RESTARTS_AFTER.get(tokens[i].norm)
    after_modal = restarts is None and _subject_and_modal_only(tokens, content, pos)
    if after_modal:
        restarts = _MODAL_RESTARTS
    if restarts is None or pos + 1 >= len(content) or tokens[i].sentence_end:
        return 0
    restart = content[pos + 1]
    # After a pause, a determiner opens that object too ("go to the | visit the castle"); with
    # no pause, "the visit the doctor paid" goes on.
    objects = _OBJECTS | _ARTICLES_AND_POSSESSIVES if tokens[i].paused else _OBJECTS
    verb_and_object = (
        tokens[i].norm in _ARTICLES_AND_POSSESSIVES
        and pos + 2 < len(content)
        and not tokens[restart].clause_end  # the verb and its object in one clause
        and tokens[content[pos + 2]].norm in objects
    )
    opens = tokens[restart].norm in restarts or verb_and_object
    if not opens or not (_broken_after(tokens, i, restart) or tokens[i].paused):
        return 0
    if after_modal and _is_aside(tokens, content, pos + 1):
        return 0
    first = min(_same_clause_before(tokens, content, pos, settings, found), default=pos)
    found.add(tokens, content[first], i, "revision", confidence=_CONFIDENCE["restart_after_comma"])
    return 1


def _asked_again_revision(
    tokens: Sequence[_Token],
    content: Sequence[int],
    pos: int,
    settings: MetricsSettings,
    found: _Found,
) -> int:
    """A question broken off after a comma and asked again with another modal: "can you pass
    me, could you hand me the salt", "will you tell, would you tell her".

    The clause opens with a modal and its subject, ends on a comma, dash or filler within
    ``max_phrase_words`` words, and the next clause opens with a different modal and the same
    subject; or with the same modal and subject and another verb, and goes on past as many
    words as the first had ("can you pass that, can you hand me the salt": the first question
    given up for a longer one). A question asked twice the same way, as long each time ("can
    you hear me, can you see me"), is a parallel, not this.
    """
    opens = pos == 0 or tokens[content[pos - 1]].clause_end
    if not opens or pos + 1 >= len(content):
        return 0
    modal, subject = (tokens[content[pos + k]].norm for k in (0, 1))
    if modal not in _MODALS or subject not in _ASKED:
        return 0
    for last in range(pos + 1, min(pos + settings.max_phrase_words, len(content) - 2)):
        i, restart = content[last], content[last + 1]
        if tokens[i].sentence_end:
            return 0
        if _broken_after(tokens, i, restart):
            again = (tokens[restart].norm, tokens[content[last + 2]].norm)
            if again[0] in _MODALS - {modal} and again[1] == subject:
                found.add(tokens, content[pos], i, "revision", confidence=_CONFIDENCE["restart"])
                return last - pos + 1
            if again == (modal, subject) and _asked_longer(tokens, content, pos, last):
                confidence = _CONFIDENCE["restart_after_comma"]
                found.add(tokens, content[pos], i, "revision", confidence=confidence)
                return last - pos + 1
            return 0
    return 0


def _asked_longer(tokens: Sequence[_Token], content: Sequence[int], pos: int, last: int) -> bool:
    """Whether the question from ``content[pos]`` to ``content[last]``, asked again with the
    same modal and subject from ``content[last + 1]``, changes its verb and goes on unbroken
    past as many words as it had."""
    n = last - pos + 1
    if pos + 2 > last or last + n + 1 >= len(content):
        return False
    if tokens[content[pos + 2]].norm == tokens[content[last + 3]].norm:
        return False
    return not any(
        tokens[content[k]].clause_end or _broken_after(tokens, content[k], content[k + 1])
        for k in range(last + 1, last + n + 1)
    )


def _subject_and_modal_only(tokens: Sequence[_Token], content: Sequence[int], pos: int) -> bool:
    """Whether the word at ``pos`` is a modal whose clause holds only a subject before it."""
    if pos < 1 or tokens[content[pos]].norm not in _MODALS:
        return False
    subject = content[pos - 1]
    opens = pos < 2 or tokens[content[pos - 2]].clause_end
    return opens and tokens[subject].norm in _SUBJECTS and not tokens[subject].clause_end


def _is_aside(tokens: Sequence[_Token], content: Sequence[int], pos: int) -> bool:
    """Whether the words from ``pos`` are a subject and a verb of thinking ("I think")."""
    return pos + 1 < len(content) and tokens[content[pos + 1]].norm in _ASIDES


def _same_clause_before(
    tokens: Sequence[_Token],
    content: Sequence[int],
    pos: int,
    settings: MetricsSettings,
    found: _Found,
) -> Iterator[int]:
    """Positions before ``pos``, nearest first, in its clause and in no other event, at most
    ``max_phrase_words`` words with ``pos`` itself: where a phrase broken off there began."""
    for back in range(pos - 1, max(pos - settings.max_phrase_words, -1), -1):
        earlier = content[back]
        if tokens[earlier].clause_end or earlier in found.in_repetition_or_revision:
            return
        yield back


def _after_an_introduction(tokens: Sequence[_Token], first: int) -> bool:
    """Whether the clause ``first`` is in opens with a preposition, a subordinator or "the" and
    a comparative: then a comma after it usually closes that introduction and the main clause
    follows ("In the middle of the night, the guide drove", "Because nobody knew the way, the
    dentist", "The longer we stayed near the lighthouse, the more"), not a restart."""
    opening = _opening(tokens, first, sentence=False)
    words = [t.norm for t in tokens[opening : first + 1] if not t.filler]
    return words[0] in _INTRODUCERS or _the_comparative(words)


def _correlative(tokens: Sequence[_Token], first: int, phrase: Sequence[str]) -> bool:
    """Whether ``phrase`` opens the second half of a correlative comparative whose first half
    opens the sentence ``first`` is in ("The longer we stayed ..., the more we understood"):
    both "the" and a comparative. The first half is the introduction
    ``_after_an_introduction`` knows, unless whisper wrote a comma inside it ("The longer we
    stay, that's the maker on the corner, the more")."""
    opening = _opening(tokens, first, sentence=True)
    words = [t.norm for t in tokens[opening:first] if not t.filler]
    return _the_comparative(words) and _the_comparative(phrase)


def _opening(tokens: Sequence[_Token], first: int, *, sentence: bool) -> int:
    """Where the clause (or, with ``sentence``, the sentence) that ``tokens[first]`` is in
    begins."""
    opening = first
    while opening > 0 and not (
        tokens[opening - 1].sentence_end if sentence else tokens[opening - 1].clause_end
    ):
        opening -= 1
    return opening


def _the_comparative(words: Sequence[str]) -> bool:
    """Whether ``words`` open with "the" and a comparative ("the longer", "the more")."""
    return len(words) > 1 and words[0] == "the" and _is_comparative(words[1])


def _is_comparative(word: str) -> bool:
    return word in {"more", "less", "fewer", "better", "worse"} or (
        len(word) > 4 and word.endswith("er")
    )


def _broken_after(tokens: Sequence[_Token], last: int, restart: int) -> bool:
    """A comma, dash or ellipsis after ``last``, or a filler before ``restart``."""
    token = tokens[last]
    tail = token.raw.rstrip("\"'”’)]")
    return token.cut or tail.endswith(_BREAKS) or any(t.filler for t in tokens[last + 1 : restart])


def _eligible(
    tokens: Sequence[_Token], found: _Found, pauses: Sequence[Span] = ()
) -> list[tuple[int, float, int]]:
    """Ordinary words as (index, duration, syllables): fillers, backchannels ("mm-hmm", as
    long as a listener draws it out), fragments and words of a repetition or revision are not
    lexical words said once. A word's duration leaves out the silences whisper laid it over
    (``pauses``): on a real podcast clip (SEP-28k) "getting..." was timed 0.92 s over 0.25 s of
    speech, a 0.33 s silence and a breath, and "Interfeared" began 0.34 s before the speech
    did; each read as a drawn-out word."""
    silent_s = _SilentTime(pauses)
    return [
        (i, t.end - t.start - silent_s(t), found.syllables(t.raw))
        for i, t in enumerate(tokens)
        if not t.filler
        and not is_backchannel(t.norm)
        and not t.cut
        and i not in found.in_repetition_or_revision
    ]


class _SilentTime:
    """How much of a token's time lies on ``pauses``: the pauses are put in time order once and
    each token reads only those that reach into it (a two-hour recording has some 20,000 words
    and thousands of pauses)."""

    def __init__(self, pauses: Sequence[Span]) -> None:
        self._pauses = sorted(pauses)
        # The latest end so far: every pause before the first one past a time ends by then.
        self._reach = list(accumulate((end for _, end in self._pauses), max))

    def __call__(self, token: _Token) -> float:
        total = 0.0
        k = bisect_right(self._reach, token.start)
        while k < len(self._pauses) and self._pauses[k][0] < token.end:
            start, end = self._pauses[k]
            total += max(0.0, min(token.end, end) - max(token.start, start))
            k += 1
        return total


def _syllable_baseline(
    ordinary: Sequence[tuple[int, float, int]], settings: MetricsSettings
) -> float:
    """The speaker's median duration per syllable over ordinary words (``_eligible``), or the
    reference."""
    per_syllable = [d / n for _, d, n in ordinary if d > 0]
    if len(per_syllable) >= settings.baseline_min_words:
        return statistics.median(per_syllable)
    return settings.reference_syllable_s


_SOUND_EVIDENCE: tuple[Evidence, ...] = ("timing", "acoustic")
"""The evidence of a filled pause read from a sound no word covers (``_find_sounds``), by which
``_find_second_pass_fillers`` knows one."""


def _find_sounds(
    tokens: Sequence[_Token],
    sounds: Sequence[Sound],
    baseline: float,
    settings: MetricsSettings,
    found: _Found,
) -> set[int]:
    """Disfluencies whisper wrote no word for, from the sounds outside every word.

    A sound that runs on unchanged into a word ("mmmm" + "maybe", whisper's "Maybe" starting late;
    ``Sound.flows_on``) is that word's onset drawn out when the whole, onset included, lasts
    ``prolonged_onset_min_s`` and its first syllable ``prolonged_onset_ratio`` times the
    speaker's duration per syllable: a prolongation (SLD). So is a noise-like sound that runs
    straight into a word spelt with a fricative ("ssss" + "ometimes", whisper's "Sometimes"
    starting at the vowel): a held s or f is noise-like, and its spectrum stops at the vowel.
    A filler written where the sound ends is whisper writing the sound on ("uuuusually" ->
    "Umm, usually"): sound and filler are then the onset of the word after them. A word spelt
    with a stop first (``_STOP_FIRST``) has no onset to hold: a sound running into it is one
    before it that whisper left unwritten, or the vowel after the stop's release held and the
    word begun late; that prolongation is listed to review, and a filler written before such a
    word is a filler. A voiced sound of ``filler_sound_s`` to ``filler_sound_max_s`` attached
    to no word is a filled pause (an interjection); a noise-like one (a breath) is nothing.
    Returns the words found prolonged.
    """
    prolonged: set[int] = set()
    starts = [t.start for t in tokens]
    for sound in sounds:
        following = next((i for i, start in enumerate(starts) if start >= sound.end - 0.05), None)
        onset = None
        if following is not None:
            gap = tokens[following].start - sound.end
            # A fricative drawn out ("ssss|ometimes") is noise-like and changes where the vowel
            # begins, so it does not flow on; it runs straight into a word spelt with it.
            hissed = (
                sound.noisy
                and gap <= _HISS_ATTACH_S
                and tokens[following].norm.startswith(_FRICATIVE_SPELLINGS)
            )
            if (sound.flows_on and gap <= settings.onset_attach_s) or hissed:
                onset = _drawn_out_onset(tokens, following, sound, baseline, found)
        if onset is not None:
            following, onset_s = onset
            if (
                following not in found.in_repetition_or_revision
                and tokens[following].end - sound.start >= settings.prolonged_onset_min_s
                and onset_s >= settings.prolonged_onset_ratio * baseline
            ):
                token = tokens[following]
                stop_first = bool(_STOP_FIRST.match(token.norm))
                found.event(
                    DisfluencyEvent(
                        type="prolongation",
                        text=token.raw,
                        start=sound.start,
                        end=token.end,
                        stuttering_like=True,
                        confidence=_CONFIDENCE["stop_first" if stop_first else "drawn_out_onset"],
                        evidence=("timing", "acoustic"),
                    ),
                    following,
                )
                prolonged.add(following)
                continue
        if not sound.noisy and (
            settings.filler_sound_s <= sound.end - sound.start <= settings.filler_sound_max_s
        ):
            found.event(
                DisfluencyEvent(
                    type="interjection",
                    text="…",
                    start=sound.start,
                    end=sound.end,
                    confidence=_CONFIDENCE["unworded_sound"],
                    evidence=_SOUND_EVIDENCE,
                ),
                None,
            )
    return prolonged


_FRICATIVE_SPELLINGS = ("s", "z", "f", "v", "ph", "sh", "th", "ce", "ci", "cy")
"""How a word whose first sound is a fricative (one that can be held: s, z, f, v, sh, th) is
spelt; not "h", whose drawn-out sound is a breath's."""
_HISS_ATTACH_S = 0.05
"""Longest gap between a noise-like sound and the word it is the drawn-out fricative of: it runs
into the vowel (0.00-0.01 s measured on the labelled sets' four); a breath before a word
leaves a gap, or whisper starts the word on it."""


def _drawn_out_onset(
    tokens: Sequence[_Token], following: int, sound: Sound, baseline: float, found: _Found
) -> tuple[int, float] | None:
    """The word whose onset ``sound`` runs on into, and how long that onset lasts: the sound
    and the word's first syllable (the word less the speaker's usual time for each other
    syllable); or, where whisper wrote the sound on as a filler ("uuuusually" -> "Umm,
    usually"), the sound and the filler, before the word within ``_WRITTEN_ON_S`` after it."""
    token = tokens[following]
    if not token.filler:
        return following, token.end - sound.start - (found.syllables(token.raw) - 1) * baseline
    word = _word_after(tokens, following, _WRITTEN_ON_S)
    if word is None or _STOP_FIRST.match(tokens[word].norm):
        return None
    return word, token.end - sound.start


_WRITTEN_ON_S = 0.3
"""Longest gap between a filler whisper wrote on a drawn-out sound and the word that sound
starts: whisper's times around it are loose (0.12 s and 0.26 s measured), a pause is longer."""
_HEARD_SLACK_S = 0.1
"""A word belongs to a heard repetition when its middle is this close to the repeat's span."""
_RUNS_PAST_S = 0.14
"""A word written from inside a heard repetition's copies that ends this far past them runs on
into the rest of the word ("puh puh play": "play" 0.15-0.29 s past); a word said again whole
ends with its copies ("I'll run" for "our our", 0.11 s past)."""
_ONE_SYLLABLE = 1.5
"""A unit up to this many times the speaker's duration per syllable is one syllable."""
_GUESSED = 0.2
"""Whisper's probability below which a word written over a heard syllable is a guess at a
sound, not a word it heard ("puh puh people" written "pop -up email", "pop" at 0.08)."""
_SURE_WORD = 0.65
"""Probability from which a word whisper wrote inside a heard repetition is one it heard there
(``_word_said_again``, ``_heard_beside``): 0.68-0.74 and 0.93-0.96 for "to the" over "to the
the", 0.55-0.59 for its "mama" over "buh buh", 0.60 for "Did" over "it it" ("it it it takes"
written "Did it take")."""
_HEARD_WORD = 0.55
"""Probability from which whisper heard the word itself: every word over the unit this sure
is a word said again ("it it it takes" written "Did it take", 0.60 and 0.98)."""


def _find_heard_repetitions(
    tokens: Sequence[_Token], repeats: Sequence[Repeat], baseline: float, found: _Found
) -> set[int]:
    """Repetitions heard in the audio (``pipelines.repeats``) that the words do not show.

    Whisper writes "I I I want" as "I want": the audio holds the copies, the transcript one.
    A repeat overlapping a repetition or revision already found from the words is that one.
    Its type comes from the unit and the words under it: a unit of about a syllable that starts
    the next word is a part-word repetition of that word. It starts the next word when it sounds
    like that word's start ("buh buh brother", ``Repeat.continues``) and whisper was not sure of
    the words it wrote over it (``_HEARD_WORD``: in "it it it takes" two copies are heard and
    the third "it" starts like them), or when whisper only guessed a word there (``_GUESSED``:
    "puh puh people" written "pop -up email", the vowels too unlike to match) or wrote a
    syllable twice there (``_BABBLE``: "buh buh brother" written "mama brother"); not when that
    next word is a short one (``_FUNCTION_WORDS``) whisper wrote over the copies themselves
    ("they they they" written "They", 0.30, over all three: that word said again whole), unless
    whisper wrote the copies as a guess before it and doubted it too ("my buh buh brother"
    written "My mum and runner", "mum" 0.15, "and" 0.20). A unit
    spanning two or more written words is a phrase when it lasts more than a syllable, or a
    syllable or more with two different words written wholly inside it (whisper writes "so we so
    we walked" as "so we walked", "I think I think the" as "I think the", the phrase once over
    its copies); otherwise the first word under it was said again whole, only listed to
    review when that word has more syllables than copies a syllable long hold and whisper
    doubted it (below ``_HEARD_WORD``; "mother" written sure over them it heard). Part-word and
    one-syllable whole-word repetitions are stuttering-like (Yairi & Ambrose). A repeat matched
    only loosely is to review, unless whisper doubted every word it wrote over it too (below
    ``_HEARD_WORD``: "you you should" written "You should", 0.54): two weak signs that agree
    count. A loose match takes no words from the other detectors. Returns the words the
    repetitions took.
    """
    taken: set[int] = set()
    for repeat in repeats:
        if found.overlaps(repeat.start, repeat.end, types={"repetition", "revision"}):
            continue
        under = [
            i
            for i, t in enumerate(tokens)
            if repeat.start - _HEARD_SLACK_S <= (t.start + t.end) / 2 <= repeat.end + _HEARD_SLACK_S
            and not t.filler
        ]
        after = next((i for i, t in enumerate(tokens) if t.end > repeat.end and not t.filler), None)
        one_syllable = repeat.unit_s <= _ONE_SYLLABLE * baseline
        inside = {
            tokens[i].norm
            for i in under
            if tokens[i].start >= repeat.start - _HEARD_SLACK_S
            and tokens[i].end <= repeat.end + _HEARD_SLACK_S
        }
        least = min((tokens[i].probability for i in under), default=None)
        heard_word = least is not None and least >= _HEARD_WORD
        written_copies = any(_copies_written(tokens[i]) for i in under)
        # A word (not a short one) whisper wrote from inside the copies to well past them is
        # the word they start, said whole after them ("likes to puh puh play": "to" 0.99 over
        # the first copy, "play" from the second to 0.15 s past the last).
        said_after = (
            after in under
            and tokens[after].norm not in _FUNCTION_WORDS
            and tokens[after].start > repeat.start
            and tokens[after].end - repeat.end >= _RUNS_PAST_S
        )
        starts_next = (repeat.continues and not heard_word) or written_copies or said_after
        # A short word whisper wrote over the copies, not as their guess, and said after them
        # is that word said again whole ("they they they" written "They", over all three);
        # not a doubted one after a guess at the copies ("My mum and runner": "mum" is them).
        heard_in_copies = (
            after in under
            and tokens[after].norm in _FUNCTION_WORDS
            and not _copies_written(tokens[after])
            and not (
                tokens[after].probability < _HEARD_WORD
                and any(_copies_written(tokens[i]) for i in under if i < after)
            )
        )
        subtype: RepetitionKind
        if starts_next and one_syllable and after is not None and not heard_in_copies:
            subtype, target = "part_word", after
            if (written := _word_after_written_copies(tokens, after, repeat)) is not None:
                target = written
            first = tokens[target].norm[:1]
            # Whisper may have split the word it guessed ("pop -up"): no dash before it here.
            text = f"{first}- " * repeat.copies + tokens[target].raw.lstrip("".join(_CUT_MARKS))
        elif len({tokens[i].norm for i in under}) >= 2 and (
            not one_syllable or (len(inside) >= 2 and repeat.unit_s >= baseline)
        ):
            subtype, target = "phrase", under[0]
            text = " ".join([" ".join(tokens[i].raw for i in under)] * repeat.copies)
        else:
            subtype = "whole_word"
            target_or_none = _word_said_again(tokens, under, repeat.end) if under else after
            if target_or_none is None:
                continue
            target = target_or_none
            text = " ".join([tokens[target].raw] * repeat.copies)
        target_syllables = found.syllables(tokens[target].raw)
        stuttering = subtype == "part_word" or (subtype == "whole_word" and target_syllables == 1)
        # Copies a syllable long cannot each hold a longer word whisper doubted: that word is
        # not the one said again ("violin in" heard as "lin in", written "the island in", 0.06).
        too_short = (
            subtype == "whole_word"
            and one_syllable
            and target_syllables > 1
            and tokens[target].probability < _HEARD_WORD
        )
        close = repeat.distance <= CLOSE and not too_short
        doubted = least is not None and not heard_word and not too_short
        strength = (
            "heard_repeat" if close else "heard_repeat_doubted" if doubted else "heard_repeat_loose"
        )
        # The event holds the copies and the word it names (``_placed`` reads its words from
        # its span): "c- c- car" over whisper's "cooker car", "my my" over a "my" whisper
        # stretched past the copies.
        event = DisfluencyEvent(
            type="repetition",
            text=text,
            start=min(repeat.start, tokens[target].start),
            end=max(repeat.end, tokens[target].end),
            subtype=subtype,
            stuttering_like=stuttering,
            confidence=_CONFIDENCE[strength],
            evidence=("acoustic",),
        )
        found.event(event, None)  # its words are counted later (_count_heard_repetitions)
        if close:  # a looser match leaves its words to the other detectors (below)
            span = [*under, target]
            found.in_repetition_or_revision.update(range(min(span), max(span) + 1))
            taken.update(span)
    return taken


def _count_heard_repetitions(tokens: Sequence[_Token], found: _Found) -> None:
    """Count the words of each counted heard repetition as ``count_events`` will from its span
    once a clinician confirms it (``_placed``): the target stuttered, the other words of a
    stuttering-like repetition no syllables, so a confirmed report keeps the numbers. Whisper
    did not write these as they were said, so their words are read from the span, and only
    after ``_drop_what_prolongations_were_taken_for``: a dropped one counts nothing."""
    for k, event in enumerate(found.events):
        if not _heard_repetition(event) or event.confidence < found.review_below:
            continue
        placed, target, silent = _placed(tokens, event, found.syllables)
        found.events[k] = placed
        if placed.stuttering_like and target is not None:
            found.stuttered_tokens.add(target)
            found.syllable_overrides.update(dict.fromkeys(silent, 0))
            found.syllable_overrides[target] = found.syllables(_last_part(tokens[target]))


def _heard_repetition(event: DisfluencyEvent) -> bool:
    """Whether ``event`` is a repetition heard in the audio only (``_find_heard_repetitions``)."""
    return event.type == "repetition" and event.evidence == ("acoustic",)


def _word_said_again(tokens: Sequence[_Token], words: Sequence[int], end: float) -> int:
    """Which of ``words``, those under a heard whole-word repetition ending at ``end``, was
    said again. Whisper writes that word once, over the end of the copies: the word ending
    nearest ``end`` when whisper was sure of it (``_SURE_WORD``), else the first ("go to the
    the store" written "go to the store": "the", 0.96, not "to", which whisper's times lay
    over the first copy). An unsure word there may be whisper's guess at the copies ("buh buh
    brother" written "mama run"), so the first word stays."""
    last = min(words, key=lambda i: abs(tokens[i].end - end))
    return last if tokens[last].probability >= _SURE_WORD else words[0]


def _heard_beside(token: _Token, target: _Token) -> bool:
    """Whether ``token``, a word inside a heard repetition of ``target``, is a word of its
    own: whisper was sure of it (``_SURE_WORD``) and it is not the target again. Whisper's
    times are loose, so a neighbour's middle can fall among the copies ("to" in "go to the
    the store"); it keeps its syllables."""
    return token.probability >= _SURE_WORD and token.norm != target.norm


def _word_after(tokens: Sequence[_Token], index: int, within_s: float) -> int | None:
    """The first word after ``tokens[index]`` that is not a filler, when it starts within
    ``within_s`` of that token's end."""
    word = next((i for i in range(index + 1, len(tokens)) if not tokens[i].filler), None)
    if word is None or tokens[word].start - tokens[index].end > within_s:
        return None
    return word


def _word_after_written_copies(tokens: Sequence[_Token], after: int, repeat: Repeat) -> int | None:
    """The word a heard part-word repetition starts when whisper wrote the copies as a word
    over them, before it: one it only guessed (``_GUESSED``; "kuh kuh car" written "cooker car",
    0.06; "puh puh package" "proper package"), or a syllable twice (``_BABBLE``; "my buh buh
    brother" written "My mama brother", 0.50). None when ``after`` is not such a word."""
    guess = tokens[after]
    middle = (guess.start + guess.end) / 2
    over_copies = repeat.start - _HEARD_SLACK_S <= middle <= repeat.end + _HEARD_SLACK_S
    if not _copies_written(guess) or not over_copies:
        return None
    return _word_after(tokens, after, _HEARD_SLACK_S)


_BABBLE = re.compile(r"([b-df-hj-np-tv-z])a\1a")
"""A consonant and "a", twice: the nursery word ("mama", "papa", "dada") whisper writes for two
copies of a syllable it could not place ("buh buh brother" written "My mama brother" or "My
mama run the", the copies heard in the audio under "mama")."""


_TWICE = re.compile(r"([b-df-hj-np-tv-z])[aeiou]+\1[aeiouy]")
"""A word that starts with one syllable said twice, a consonant and its vowel and the same
consonant again: what whisper writes for two copies it half placed ("tuh tuh table" written
"The total table", "total" at 0.55; "tuh tuh tuh teeth" as "total total tea"). Words of this
shape are said too ("nine", "moment", "memory"): only one whisper doubted counts
(``_SURE_WORD``)."""


def _copies_written(token: _Token) -> bool:
    """Whether ``token``, over a heard repetition's copies, is those copies written rather than
    a word whisper heard: one it only guessed (``_GUESSED``), a syllable twice (``_BABBLE``), or
    a doubted word that starts with a syllable twice (``_TWICE``)."""
    return (
        token.probability < _GUESSED
        or _BABBLE.fullmatch(token.norm) is not None
        or (token.probability < _SURE_WORD and _TWICE.match(token.norm) is not None)
    )


def _find_prolongations(
    tokens: Sequence[_Token],
    ordinary: Sequence[tuple[int, float, int]],
    baseline: float,
    settings: MetricsSettings,
    found: _Found,
    *,
    skip: set[int],
) -> None:
    """Words far longer than their syllables predict for this speaker: "sssssnake".

    Baseline: the median duration per syllable over the sample's ordinary words (fillers and
    fragments excluded, they are not lexical words); a word at least ``prolongation_min_s``
    long whose first syllable (the word less the baseline for each other syllable) is at least
    ``prolongation_ratio`` times that is a prolongation (SLD): a drawn-out sound is an onset
    ("wwwwondering": 1.04 s, 1.7x the baseline per syllable, its first syllable 3.2x).

    A word spelt with a stop first (``_STOP_FIRST``) cannot hold its first sound: what makes it
    long is a sound before it that whisper laid the word over (a real recording's "uh, tonight"
    was written "tonight," lasting 1.16 s), or the speaker stuck on the closure, a block. Listed
    to review, not counted as a drawn-out sound.
    """
    for i, duration, syllables in ordinary:
        if (
            i not in skip
            and duration >= settings.prolongation_min_s
            and duration - (syllables - 1) * baseline >= settings.prolongation_ratio * baseline
        ):
            stop_first = bool(_STOP_FIRST.match(tokens[i].norm))
            found.add(
                tokens,
                i,
                i,
                "prolongation",
                stuttered_token=i,
                confidence=_CONFIDENCE["stop_first" if stop_first else "long_word"],
                evidence=("timing",),
            )


def _drop_what_prolongations_were_taken_for(
    tokens: Sequence[_Token], settings: MetricsSettings, found: _Found
) -> None:
    """A drawn-out sound is one disfluency, the prolongation; what else it was read as goes:

    - a hum written against it ("the mmm, kitchen" over "vvvvegetables"), which whisper heard
      as a nasal, or any filler written inside it ("Umm, usually" over "uuuusually"), is not an
      interjection too; a hum ``onset_attach_s`` or more away from every prolongation stays one;
    - a repetition heard only loosely over it (to review, or counted for whisper's doubt) is the
      sound matching itself ("mmmmy" written "my", heard as "my my")."""

    def on_prolongation(start: float, end: float, slack_s: float = 0.0) -> bool:
        return found.overlaps(start, end, types={"prolongation"}, slack_s=slack_s)

    written_on = {
        (t.start, t.end)
        for t in tokens
        if t.filler
        and (
            (is_hum(t.raw) and on_prolongation(t.start, t.end, settings.onset_attach_s))
            or _inside_prolongation(t, found)
        )
    }
    found.events = [
        e
        for e in found.events
        if not (e.type == "interjection" and _written_for(e, tokens, written_on))
        and not (
            _heard_repetition(e)
            and e.confidence < _CONFIDENCE["heard_repeat"]
            and on_prolongation(e.start, e.end)
        )
    ]


def _drop_syllables_written_as_fillers(tokens: Sequence[_Token], found: _Found) -> None:
    """A syllable said again before its word and heard in the audio (a counted part-word
    repetition, ``_find_heard_repetitions``) is one disfluency: the fillers whisper wrote for
    its copies ("muh muh muh Monday" written "mmm, mmm, mmm… So") are not interjections too.
    Only fillers wholly inside it go: one before or after the copies was said besides."""
    stutters = [
        e
        for e in found.events
        if _heard_repetition(e) and e.subtype == "part_word" and e.confidence >= found.review_below
    ]
    written = {
        (t.start, t.end)
        for t in tokens
        if t.filler and any(e.start <= t.start and t.end <= e.end for e in stutters)
    }
    found.events = [
        e
        for e in found.events
        if not (e.type == "interjection" and e.evidence == ("transcript",))
        or not _written_for(e, tokens, written)
    ]


def _written_for(
    event: DisfluencyEvent, tokens: Sequence[_Token], written: set[tuple[float, float]]
) -> bool:
    """Whether every filler of an interjection (one, or the same one written again and again:
    ``_find_interjections``) is among the fillers ``written`` (their spans) for another event."""
    spans = [
        (t.start, t.end)
        for t in tokens
        if t.filler and event.start <= t.start and t.end <= event.end
    ]
    return bool(spans) and all(span in written for span in spans)


def _inside_prolongation(token: _Token, found: _Found) -> bool:
    """Whether ``token`` lies wholly inside a prolongation's span (written on the drawn-out
    sound)."""
    return any(
        e.type == "prolongation" and e.start <= token.start and token.end <= e.end
        for e in found.events
    )


def _find_blocks(
    tokens: Sequence[_Token], settings: MetricsSettings, found: _Found, sounds: Sequence[Sound] = ()
) -> None:
    """Long silences inside a phrase: the speaker is stuck before the next word.

    Heuristic on text and timing: a gap of at least ``block_min_s`` between two words where the
    word before does not end a sentence, is not broken off and is not itself a filler (a
    silence after "um" is hesitation already counted). Commas do not end a phrase here:
    Whisper writes a comma because it heard a pause, so trusting it would hide exactly the
    silences we look for. The event spans the silence; its text is the word that was blocked.
    Blocks are SLD (Yairi & Ambrose's disrhythmic phonation).
    A word that takes no time (whisper gave it none, or laid it wholly on silence,
    ``pipelines.alignment.trimmed``) does not show where the silence lies: the gap is measured
    between the words around it that do, and a sentence end, break or filler among those
    between still ends the phrase ("on the | phone? |" with "phone?" laid in the silence after
    the sentence, given no time there, is no block before "phone?").
    A silence where a phrase may pause (not after a word no phrase ends on, ``_OPEN_ENDED``)
    that is no longer than the speaker's own pauses inside sentences is their pacing, as often
    as a block: listed to review (``_paced``; "And so my fellow Americans | 1.0 s | ask not |
    1.1 s | what your country can do for you, | 0.8 s | ask what", whisper writing no comma
    at the first two).
    A gap a voiced sound no word covers (``sounds``) leaves no silence of ``block_min_s`` in
    is no silence: a word whisper laid on the silence beside its sound, given no time there
    ("morning, | Laura, | did" with "Laura," timed after its sound; the sound is listed to
    review by ``_find_sounds``).
    """
    voiced = [(s.start, s.end) for s in sounds if not s.noisy]
    silences: list[tuple[int, int]] = []  # pauses inside sentences: (word before, word after)
    anchor: int | None = None  # the last word that takes time
    ended = False  # whether a word from the anchor on ends the phrase
    for i, token in enumerate(tokens):
        timed = token.end > token.start
        if anchor is not None and timed and not ended:
            if token.start - tokens[anchor].end >= settings.pause_min_s:
                silences.append((anchor, i))
        if timed or anchor is None:
            anchor, ended = i, False
        ended = ended or token.filler or token.sentence_end or token.cut
    gaps = [tokens[after].start - tokens[before].end for before, after in silences]
    for k, (before, after) in enumerate(silences):
        silent = subtract((tokens[before].end, tokens[after].start), voiced)
        if max((b - a for a, b in silent), default=0.0) < settings.block_min_s:
            continue  # shorter than a block, or broken by a sound
        # The blocked word: the first after the silence, one given no time included.
        blocked = next(
            (
                j
                for j in range(before + 1, after)
                if tokens[j].start >= tokens[before].end + settings.block_min_s
            ),
            after,
        )
        paced = tokens[before].norm not in _OPEN_ENDED and _paced(gaps[k], gaps[:k] + gaps[k + 1 :])
        found.event(
            DisfluencyEvent(
                type="block",
                text=tokens[blocked].raw,
                start=tokens[before].end,
                end=tokens[after].start,
                stuttering_like=True,
                confidence=_CONFIDENCE["paced_silence" if paced else "silence"],
                evidence=("transcript", "timing"),
            ),
            blocked,
        )


def _paced(gap: float, others: Sequence[float]) -> bool:
    """Whether a silence of ``gap`` seconds is no longer than the speaker pauses inside
    sentences anyway: at least ``_PACE_PAUSES`` other such pauses, three in four of them at
    least ``_PACE_SHARE`` as long (their lower quartile). A block stands out from the speaker's
    pauses; a speaker who stutters pauses briefly besides, so the lower quartile, not the
    median, which their other blocks would raise (the median lost two of the fresh session's
    four blocks)."""
    if len(others) < _PACE_PAUSES:
        return False
    return statistics.quantiles(others, n=4, method="inclusive")[0] >= gap * _PACE_SHARE
