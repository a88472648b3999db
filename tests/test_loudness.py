"""A quiet recording is read raised to a speech level (``pipelines.loudness``); others as they
are."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deployments.local_whisper import LocalWhisperConfig, LocalWhisperTranscriber
from pipelines.audio import decode, decode_to_file
from pipelines.loudness import (
    MAX_GAIN_DB,
    PEAK_CEILING,
    QUIET_DBFS,
    TARGET_DBFS,
    Raised,
    gain_db,
    loudness,
    raised,
)
from pipelines.types import SAMPLE_RATE, audio_source
from tests.fidelity import chunked, fidelity
from tests.support import FIXTURES, JFK_TEXT, SHARED_AUDIO
from tests.test_audio import write_wav

PACED = FIXTURES / "paced"


def _db(gain: float) -> float:
    return 20.0 * float(np.log10(gain))


def test_speech_at_its_own_level_is_read_as_it_is() -> None:
    for path in (SHARED_AUDIO / "jfk.flac", FIXTURES / "disfluent_block.wav"):
        source = audio_source(decode(path))
        loud, _ = loudness(source)
        assert loud is not None and loud > QUIET_DBFS
        assert raised(source) is source and gain_db(source) == 0.0


@pytest.mark.parametrize("down_db", [30.0, 45.0, 60.0])
def test_quiet_speech_is_raised_to_the_target_level(down_db: float) -> None:
    speech = decode(SHARED_AUDIO / "jfk.flac")
    quiet = (speech * np.float32(10 ** (-down_db / 20))).astype(np.float32)
    loud, _ = loudness(audio_source(quiet))
    assert loud is not None and loud < QUIET_DBFS
    source = raised(audio_source(quiet))
    assert isinstance(source, Raised) and gain_db(source) > 0.0
    heard = source.read(0, source.samples)
    assert heard.dtype == np.float32 and len(heard) == len(quiet)
    level, peak = loudness(audio_source(heard))
    assert level is not None
    # To the target, unless the peak stops it first; never past the ceiling.
    assert level == pytest.approx(TARGET_DBFS, abs=0.1) or peak == pytest.approx(
        PEAK_CEILING, rel=1e-3
    )
    assert peak <= PEAK_CEILING * 1.0001
    assert np.allclose(
        source.read(SAMPLE_RATE, 2 * SAMPLE_RATE), heard[SAMPLE_RATE : 2 * SAMPLE_RATE]
    )


def test_a_click_limits_the_gain_and_nothing_clips() -> None:
    speech = decode(SHARED_AUDIO / "jfk.flac") * np.float32(10 ** (-60 / 20))
    speech[SAMPLE_RATE] = 0.5  # a click, loud beside the speech
    source = raised(audio_source(speech.astype(np.float32)))
    assert gain_db(source) == pytest.approx(_db(PEAK_CEILING / 0.5), abs=0.01)
    assert float(np.max(np.abs(source.read(0, source.samples)))) <= PEAK_CEILING * 1.0001


def test_digital_silence_stays_as_it_is_and_faint_noise_gains_at_most_the_cap() -> None:
    silence = audio_source(np.zeros(5 * SAMPLE_RATE, dtype=np.float32))
    assert loudness(silence) == (None, 0.0)
    assert raised(silence) is silence
    noise = np.random.default_rng(0).standard_normal(5 * SAMPLE_RATE).astype(np.float32)
    faint = audio_source((noise * np.float32(10 ** (-95 / 20))).astype(np.float32))
    assert gain_db(raised(faint)) == MAX_GAIN_DB


def test_a_recording_on_disk_is_measured_a_minute_at_a_time(tmp_path: Path) -> None:
    """A PCM file (what the dispatcher reads) of more than one block gives the array's answer."""
    speech = decode(SHARED_AUDIO / "jfk.flac")
    quiet = np.tile(speech, 7)[: 70 * SAMPLE_RATE] * np.float32(10 ** (-50 / 20))
    path = write_wav(tmp_path / "quiet.wav", [quiet])
    pcm = decode_to_file(path, tmp_path / "quiet.f32")
    from_file = raised(pcm)
    from_array = raised(audio_source(decode(path)))
    assert gain_db(from_file) == pytest.approx(gain_db(from_array), abs=0.01)
    assert gain_db(from_file) > 20.0
    assert np.allclose(from_file.read(0, pcm.samples), from_array.read(0, pcm.samples))


QUIET_CLIPS = ("citizens", "builders", "this_room", "the_promise", "the_fishermen")
"""Five voices of ``tests/fixtures/paced`` (en-us m3, en-gb, en-us f4, en-us m5, en f3, 120-155
wpm), read with J. F. Kennedy's recorded speech."""
QUIET_DB = 55.0
"""How far under their own level the clips are played: speech at -66 to -80 dBFS."""


@pytest.fixture(scope="module")
def transcriber() -> LocalWhisperTranscriber:
    return LocalWhisperTranscriber(LocalWhisperConfig(cpu_threads=2))


@pytest.mark.model
def test_quiet_speech_loses_no_more_words_than_at_its_own_level(
    transcriber: LocalWhisperTranscriber,
) -> None:
    """Before the gain, 84 of these 244 words were lost at this level (the VAD heard silence:
    nothing was listed as left without words) against 2 at the clips' own level; raised, 1."""
    paced = {e["audio"]: e["text"] for e in json.loads((PACED / "corpus.json").read_text())}
    clips = [(PACED / f"{name}.opus", paced[f"{name}.opus"]) for name in QUIET_CLIPS]
    clips.append((SHARED_AUDIO / "jfk.flac", JFK_TEXT))
    for path, text in clips:
        speech = decode(path)
        quiet = (speech * np.float32(10 ** (-QUIET_DB / 20))).astype(np.float32)
        heard = chunked(transcriber, quiet, disfluency_evidence=False)
        own = fidelity(text, chunked(transcriber, speech, disfluency_evidence=False).text)
        assert heard.coverage["raised_db"] > 40.0, (path.name, heard.coverage)
        lost = fidelity(text, heard.text)
        assert lost.deletions <= own.deletions + 1, (path.name, heard.text)
