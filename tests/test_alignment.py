"""The silence level that word times, coverage and pauses are read from holds with a hum under
the speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.disfluency_run import with_hum
from pipelines.alignment import FRAME_S, PADDING_S, trimmed, voicing
from pipelines.audio import decode
from pipelines.types import SAMPLE_RATE, Word
from tests.support import FIXTURES, SHARED_AUDIO

SPEECH = FIXTURES / "long" / "conversation_no_tail.opus"
"""135 s of sentences with pauses of 0.2-3 s between them, whose silence is digital."""


@pytest.mark.parametrize(
    ("hertz", "under_speech_db"),
    [
        ([50.0, 150.0], 15),  # a badly earthed lead on 50 Hz mains
        ([50.0, 150.0], 3),
        ([60.0, 180.0, 300.0], 9),  # 60 Hz mains with odd harmonics
        ([60.0, 120.0, 180.0, 240.0, 300.0, 360.0], 6),  # a rectifier's buzz
    ],
)
def test_a_mains_hum_does_not_silence_the_speech(hertz: list[float], under_speech_db: int) -> None:
    """The hum fills the pauses within 15 dB of the speech, so the full-band level puts quiet
    words under the silence level (a quarter of the frames on this recording, and one sentence
    lost). Measured above the hum, the frames are voiced where they are without it."""
    speech = decode(SPEECH)
    hummed = with_hum(speech, under_speech_db, hertz)
    clean, heard = voicing(speech).speech, voicing(hummed).speech
    assert np.mean(clean == heard) > 0.95


def test_speech_without_a_hum_keeps_the_full_band_level() -> None:
    """Quiet low sounds (nasals, voiced closures) carry little above the hum's band: without a
    hum they stay voiced as the full-band level has them. The fixture recordings all decide on
    the full band (JFK's room rumble is 9 dB in it, short of the hum's 40)."""
    speech = decode(SPEECH)
    voiced = voicing(speech).speech
    frames = speech[: len(voiced) * 320].astype(np.float64).reshape(len(voiced), 320)
    level = 20 * np.log10(np.maximum(np.sqrt(np.mean(frames**2, axis=1)), 1e-9))
    loud = np.percentile(level, 95)
    # Digital silence: the floor is 60 dB under the loud frames, the silence level 30 % over it.
    assert np.array_equal(voiced, level >= loud - 60 + 0.3 * 60)


@pytest.mark.parametrize(
    ("recording", "seconds"),
    [(SHARED_AUDIO / "jfk.flac", 11.0), (FIXTURES / "long" / "noise_20db.opus", 30.0)],
)
@pytest.mark.parametrize(("before_s", "after_s"), [(20.0, 0.0), (0.0, 20.0), (8.0, 60.0)])
@pytest.mark.parametrize("padding_dbfs", [None, -85.0, -65.0])
def test_long_quiet_stretches_are_no_part_of_the_speechs_level(
    recording: Path, seconds: float, before_s: float, after_s: float, padding_dbfs: float | None
) -> None:
    """Zeros (None), or noise far under the speech's own floor (a microphone not yet live),
    beside speech recorded over a noise floor put the whole recording's floor up to 60 dB
    under the speech: the noise between its words counts as voiced (JFK: 99 % of its frames
    against 55 % alone). The speech's own level leaves them out; the whole recording's is
    still there for the coverage check (``Voicing.heard``)."""
    speech = decode(recording)[: round(seconds * SAMPLE_RATE)]
    alone = voicing(speech).speech
    rng = np.random.default_rng(0)

    def quiet(s: float) -> np.ndarray:
        n = round(s * SAMPLE_RATE)
        return (
            np.zeros(n)
            if padding_dbfs is None
            else 10 ** (padding_dbfs / 20) * rng.standard_normal(n)
        )

    padded = voicing(np.concatenate([quiet(before_s), speech, quiet(after_s)]).astype(np.float32))
    at = slice(round(before_s / FRAME_S), round(before_s / FRAME_S) + len(alone))
    assert np.mean(padded.speech[at] == alone) > 0.99
    assert not padded.speech[: at.start].any() and not padded.speech[at.stop :].any()
    assert np.mean(padded.heard[at]) > np.mean(alone) + 0.2


JFK = (SHARED_AUDIO / "jfk.flac", 11.0)
NOISE_20DB = (FIXTURES / "long" / "noise_20db.opus", 30.0)


@pytest.mark.parametrize(
    ("first", "second", "second_db"),
    [
        (JFK, JFK, -20.0),  # one speaker, two takes, the second recorded 20 dB lower
        (JFK, JFK, -12.0),
        (NOISE_20DB, NOISE_20DB, -20.0),
        (JFK, NOISE_20DB, -15.0),  # another speaker, further from the microphone
    ],
)
@pytest.mark.parametrize("quiet_first", [False, True])
def test_parts_spoken_at_levels_far_apart_are_each_measured_at_their_own(
    first: tuple[Path, float], second: tuple[Path, float], second_db: float, quiet_first: bool
) -> None:
    """Measured over both, the floor was the quiet part's: 98-100 % of the loud part's frames
    counted as voiced against 55-63 % alone (its pauses gone under its words, which read as
    drawn out), and 42-53 % of the quiet part's. Each part now has the frames it has alone."""
    loud = decode(first[0])[: round(first[1] * SAMPLE_RATE)]
    quiet = 10 ** (second_db / 20) * decode(second[0])[: round(second[1] * SAMPLE_RATE)]
    parts = [quiet, loud] if quiet_first else [loud, quiet]
    alone = [voicing(part.astype(np.float32)).speech for part in parts]
    joined = voicing(np.concatenate(parts).astype(np.float32))
    assert len(joined.speech) == sum(len(a) for a in alone)
    assert np.mean(joined.speech[: len(alone[0])] == alone[0]) > 0.99
    assert np.mean(joined.speech[len(alone[0]) :] == alone[1]) > 0.99


def test_a_recording_spoken_at_one_level_is_measured_as_one() -> None:
    """The fixture recordings of 20 s or more are each spoken at one level (the two sides of
    any cut at most 2 dB apart): their frames are as measured over the whole recording."""
    for path in [
        SPEECH,
        FIXTURES / "long" / "lecture_10min.opus",
        SHARED_AUDIO / "multilingual.mp3",
    ]:
        audio = decode(path)
        level = voicing(audio)
        assert level.speech is level.heard, path


def test_pauses_of_digital_silence_keep_the_recordings_level() -> None:
    """Synthetic speech's pauses are digital silence (up to 3 s here, shorter than
    ``PADDING_S``) and are the recording's only floor: one level serves both uses."""
    levels = voicing(decode(SPEECH))
    assert PADDING_S > 3.0
    assert levels.speech is levels.heard


def voiced_between(*spans: tuple[float, float], seconds: float = 5.0) -> np.ndarray:
    """``Voicing.speech`` of a recording voiced only in ``spans``."""
    voiced = np.zeros(round(seconds / FRAME_S), dtype=bool)
    for start, end in spans:
        voiced[round(start / FRAME_S) : round(end / FRAME_S)] = True
    return voiced


class TestTrimmed:
    VOICED = voiced_between((0.0, 1.0), (3.0, 4.0))

    def test_silence_at_a_words_edges_is_cut_off(self) -> None:
        word = trimmed(Word(" for", 0.5, 2.0, 0.9), self.VOICED)
        assert (word.start, word.end) == pytest.approx((0.5, 1.0))

    def test_a_word_run_over_a_pause_into_the_next_words_first_sound_ends_at_the_pause(
        self,
    ) -> None:
        # "their own hands, | 0.58 s | and": "hands," timed 9.64-10.72, 0.04 s into the "and",
        # read as a word drawn out over a second.
        voiced = voiced_between((9.0, 10.1), (10.68, 11.5), seconds=12.0)
        word = trimmed(Word(" hands,", 9.64, 10.72, 0.99), voiced)
        assert (word.start, word.end) == pytest.approx((9.64, 10.1))
        # More sound after the silence is the word's own ("sev | 0.3 s | en" said slowly)...
        slow = trimmed(Word(" seven", 9.64, 10.9, 0.9), voiced)
        assert (slow.start, slow.end) == pytest.approx((9.64, 10.9))
        # ...and a stop's closure is too short a silence to end a word.
        stop = voiced_between((0.0, 0.3), (0.36, 0.4))
        assert trimmed(Word(" top", 0.0, 0.4, 0.9), stop).end == pytest.approx(0.4)

    def test_a_word_laid_wholly_on_a_silence_takes_no_time_at_its_nearer_edge(self) -> None:
        # "We waited for the | 1.8 s | ferry" came back with "them," over the whole silence.
        laid = Word(" them,", 1.02, 2.9, 0.31)
        late = trimmed(laid, self.VOICED, off_voice=True)
        assert (late.start, late.end) == pytest.approx((1.02, 1.02))
        early = trimmed(Word(" ferry", 1.4, 2.96, 0.5), self.VOICED, off_voice=True)
        assert (early.start, early.end) == pytest.approx((2.96, 2.96))
        # Until the coverage check has judged whether it was said, it stays where it lies.
        assert trimmed(laid, self.VOICED) == laid
        # In a recording with no voiced frame at all there is no edge to move it to.
        silent = Word(" so", 1.0, 1.5, 0.9)
        assert trimmed(silent, voiced_between(), off_voice=True) == silent
