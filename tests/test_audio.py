"""Uploads of every format a browser or phone produces open; anything else is refused."""

from __future__ import annotations

import itertools
import pickle
import struct
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from deployments.transcriber import SAMPLE_RATE
from pipelines.audio import Channel, InvalidAudio, decode, decode_to_file, probe, stretched

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio"

JFK_S = 11.0
JFK_FORMATS = [
    (SHARED_AUDIO / "jfk.flac", "flac", 44_100, 2),
    (FIXTURES / "jfk_44k_stereo.wav", "pcm_s16le", 44_100, 2),
    (FIXTURES / "jfk.mp3", "mp3", 44_100, 2),
    (FIXTURES / "jfk.m4a", "aac", 44_100, 2),
    (FIXTURES / "jfk.ogg", "vorbis", 44_100, 2),
    (FIXTURES / "jfk.opus", "opus", 48_000, 2),
    (FIXTURES / "jfk.webm", "opus", 48_000, 2),
    (FIXTURES / "jfk_audio_only.mp4", "aac", 44_100, 2),
    (FIXTURES / "jfk_out_of_phase.m4a", "aac", 44_100, 2),
]
REFUSED = [
    ("empty.wav", "empty_file"),
    ("header_only.wav", "empty_file"),
    ("random_bytes.mp3", "not_audio"),
    ("png_image.wav", "not_audio"),
    ("notes.txt", "not_audio"),
    ("truncated_header.wav", "not_audio"),
    ("truncated_header.mp3", "not_audio"),
    ("video_no_audio.mp4", "not_audio"),
    ("unknown_codec.wav", "unsupported_audio"),
    ("corrupt_frames.flac", "corrupt_audio"),
    ("truncated_index.m4a", "corrupt_audio"),  # jfk.m4a's first 20 KB: its index comes last
]


@pytest.mark.parametrize(
    ("path", "codec", "rate", "channels"), JFK_FORMATS, ids=lambda v: getattr(v, "name", "")
)
def test_each_format_probes_and_decodes_to_its_duration(
    path: Path, codec: str, rate: int, channels: int
) -> None:
    info = probe(path)
    assert (info.codec, info.sample_rate, info.channels) == (codec, rate, channels)
    assert info.duration_s == pytest.approx(JFK_S, abs=0.3)

    audio = decode(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) / SAMPLE_RATE == pytest.approx(JFK_S, abs=0.3)
    assert 0.3 < np.abs(audio).max() <= 1.0  # speech, mixed down without clipping


def test_browser_webm_without_duration_is_measured() -> None:
    path = FIXTURES / "jfk.webm"
    with av.open(str(path)) as container:
        assert container.duration is None  # as MediaRecorder writes it
    assert probe(path).duration_s == pytest.approx(JFK_S, abs=0.3)


def test_lossless_formats_decode_to_the_same_samples() -> None:
    flac = decode(SHARED_AUDIO / "jfk.flac")
    wav = decode(FIXTURES / "jfk_44k_stereo.wav")
    assert len(flac) == len(wav)
    assert np.abs(flac - wav).max() < 1e-3


def write_wav(path: Path, channels: list[np.ndarray], rate: int = SAMPLE_RATE) -> Path:
    """A 16-bit PCM WAV of these channels (equal lengths, samples in [-1, 1])."""
    pcm = (np.stack(channels, axis=1) * 32767).round().astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(len(channels))
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def test_channels_out_of_phase_mix_down_to_the_speech() -> None:
    """Dual mono with one channel's polarity inverted: the plain mean of the channels (FFmpeg's
    downmix) is silence, -96 dB on this file; the speech comes back at its level."""
    speech = decode(SHARED_AUDIO / "jfk.flac")
    audio = decode(FIXTURES / "jfk_out_of_phase.m4a")
    assert rms(audio) == pytest.approx(rms(speech), rel=0.05)
    # AAC delays the signal by its priming samples: compare at the best lag.
    lag = int(np.argmax(np.correlate(audio[:48_000], speech[:46_000], mode="valid")))
    aligned = audio[lag : lag + len(speech)]
    assert np.corrcoef(aligned, speech[: len(aligned)])[0, 1] > 0.99


def test_a_channel_inverted_part_way_through_keeps_both_parts(tmp_path: Path) -> None:
    """A cable swapped mid-recording: speech on both sides of the swap, at its level."""
    speech = decode(SHARED_AUDIO / "jfk.flac")
    half = len(speech) // 2
    right = np.concatenate([speech[:half], -speech[half:]])
    audio = decode(write_wav(tmp_path / "swapped.wav", [speech, right]))
    for part in (slice(0, half), slice(half + SAMPLE_RATE, len(speech))):
        assert rms(audio[part]) == pytest.approx(rms(speech[part]), rel=0.02)


def test_channels_with_different_sounds_mix_to_their_mean(tmp_path: Path) -> None:
    """Two speakers on two channels (or one channel silent): each is kept at half its level,
    as before; nothing is turned round."""
    speech = decode(SHARED_AUDIO / "jfk.flac")
    other = speech[::-1].copy()
    for right in (other, np.zeros_like(speech), -other):
        audio = decode(write_wav(tmp_path / "two.wav", [speech, right]))
        mean = (np.round(speech * 32767) + np.round(right * 32767)) / 2 / 32767
        expected = decode(write_wav(tmp_path / "mean.wav", [mean]))
        assert np.abs(audio - expected).max() < 1e-4


def test_one_channel_is_kept_whole_when_asked_for(tmp_path: Path) -> None:
    """A microphone per speaker: ``left`` or ``right`` is that channel at its own level (the
    other is not mixed in, nor turned round, however it correlates), to a file too."""
    speech = decode(SHARED_AUDIO / "jfk.flac")
    other = speech[::-1].copy()
    for right in (other, -speech, np.zeros_like(speech)):
        path = write_wav(tmp_path / "two.wav", [speech, right])
        for channel, expected in ((Channel.left, speech), (Channel.right, right)):
            audio = decode(path, channel=channel)
            assert np.abs(audio - expected).max() < 1e-4
            pcm = decode_to_file(path, tmp_path / "pcm.f32", channel=channel)
            assert np.array_equal(pcm.read(0, pcm.samples), audio)


@pytest.mark.parametrize("channel", [Channel.left, Channel.right])
def test_a_channel_of_a_mono_recording_is_refused(tmp_path: Path, channel: Channel) -> None:
    path = write_wav(tmp_path / "mono.wav", [decode(SHARED_AUDIO / "jfk.flac")])
    with pytest.raises(InvalidAudio) as refused:
        decode(path, channel=channel)
    assert refused.value.code == "invalid_channel" and "has 1 channel:" in refused.value.message
    assert len(decode(path, channel=Channel.mix)) == len(decode(path))


def test_two_voices_on_two_channels_are_told_from_one_sound_on_both(tmp_path: Path) -> None:
    """Mixed, a recording says whether its channels carried different sounds: two speakers
    each on a microphone of their own, not the same speech on both (in phase or not), nor a
    channel left silent."""
    speech = decode(SHARED_AUDIO / "jfk.flac")
    other = speech[::-1].copy()
    apart = {
        "two_speakers.wav": write_wav(tmp_path / "two_speakers.wav", [speech, other]),
        "stereo_diarization.wav": SHARED_AUDIO / "stereo_diarization.wav",
    }
    together = {
        "one_silent.wav": write_wav(tmp_path / "one_silent.wav", [speech, np.zeros_like(speech)]),
        "jfk.flac": SHARED_AUDIO / "jfk.flac",
        "jfk_out_of_phase.m4a": FIXTURES / "jfk_out_of_phase.m4a",
        "jfk_44k_stereo.wav": FIXTURES / "jfk_44k_stereo.wav",
        "multilingual.mp3": SHARED_AUDIO / "multilingual.mp3",
        "mono.wav": write_wav(tmp_path / "mono.wav", [speech]),
    }
    for expected, paths in ((True, apart), (False, together)):
        for name, path in paths.items():
            assert decode_to_file(path, tmp_path / "pcm.f32").channels_apart is expected, name
    # One channel alone is one voice, whatever the file holds.
    alone = decode_to_file(apart["two_speakers.wav"], tmp_path / "pcm.f32", channel=Channel.left)
    assert not alone.channels_apart


def test_a_dc_offset_is_removed(tmp_path: Path) -> None:
    """An offset of 0.2 (a badly biased input) is gone and the speech is as it was: the levels
    the checks read are the speech's. Speech without an offset is not touched."""
    speech = decode(SHARED_AUDIO / "jfk.flac")
    audio = decode(write_wav(tmp_path / "offset.wav", [0.7 * speech + 0.2]))
    assert abs(float(np.mean(audio))) < 1e-3
    assert np.abs(audio - 0.7 * speech).max() < 0.005
    plain = decode(write_wav(tmp_path / "plain.wav", [0.7 * speech]))
    assert np.abs(plain - 0.7 * speech).max() < 1e-4


def test_decodes_at_the_requested_rate() -> None:
    audio = decode(FIXTURES / "jfk.ogg", sample_rate=8_000)
    assert len(audio) / 8_000 == pytest.approx(JFK_S, abs=0.3)


def test_silence_decodes_to_silence() -> None:
    info = probe(FIXTURES / "silence_10s.flac")
    audio = decode(FIXTURES / "silence_10s.flac")
    assert info.duration_s == pytest.approx(10.0, abs=0.3)
    assert len(audio) == 10 * SAMPLE_RATE and not audio.any()


def test_long_recording_decodes_at_16k() -> None:
    path = FIXTURES / "speech_3min.mp3"
    info = probe(path)
    assert len(decode(path)) / SAMPLE_RATE == pytest.approx(info.duration_s, abs=0.3)
    assert info.duration_s > 170


@pytest.mark.parametrize(("name", "code"), REFUSED)
def test_refuses_what_is_not_audio(name: str, code: str) -> None:
    for read in (probe, decode):
        with pytest.raises(InvalidAudio) as refused:
            read(FIXTURES / name)
        assert refused.value.code == code
        assert refused.value.message


def test_a_refusal_crosses_a_process_boundary_whole() -> None:
    """Pickled as a process pool or a Ray task sends it: code and message survive."""
    with pytest.raises(InvalidAudio) as refused:
        decode(FIXTURES / "png_image.wav")
    copy = pickle.loads(pickle.dumps(refused.value))  # noqa: S301 (our own object)
    assert (copy.code, copy.message, str(copy)) == (
        refused.value.code,
        refused.value.message,
        str(refused.value),
    )


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("list.ffconcat", "ffconcat version 1.0\nfile 'other.mp3'\n"),
        (
            "list.m3u8",
            "#EXTM3U\n#EXT-X-TARGETDURATION:11\n#EXTINF:11,\nother.mp3\n#EXT-X-ENDLIST\n",
        ),
    ],
)
def test_playlists_cannot_pull_in_other_files(tmp_path: Path, name: str, text: str) -> None:
    # Stock FFmpeg would follow either playlist to the file beside it.
    (tmp_path / "other.mp3").write_bytes((FIXTURES / "jfk.mp3").read_bytes())
    playlist = tmp_path / name
    playlist.write_text(text)
    for read in (probe, decode):
        with pytest.raises(InvalidAudio) as refused:
            read(playlist)
        assert refused.value.code == "not_audio"


def test_too_long_is_refused_before_decoding_it_all() -> None:
    for name in ("jfk.mp3", "jfk.webm"):  # duration in the header, and none
        with pytest.raises(InvalidAudio) as refused:
            probe(FIXTURES / name, max_duration_s=5)
        assert refused.value.code == "too_long"
        with pytest.raises(InvalidAudio) as refused:
            decode(FIXTURES / name, max_duration_s=5)
        assert refused.value.code == "too_long"
    assert probe(FIXTURES / "jfk.webm", max_duration_s=12).duration_s < 12


def test_a_header_that_says_too_long_is_checked_against_the_packets(tmp_path: Path) -> None:
    """jfk.mp3's Info frame counts its 423 frames (11 s); written as 300,000 (2 h 10 min), the
    header says too long, and the packets say 11 s: it is probed and decoded as 11 s."""
    data = bytearray((FIXTURES / "jfk.mp3").read_bytes())
    info = data.index(b"Info")
    assert struct.unpack(">I", data[info + 8 : info + 12]) == (423,)
    data[info + 8 : info + 12] = struct.pack(">I", 300_000)
    lying = tmp_path / "lying.mp3"
    lying.write_bytes(bytes(data))
    assert av.open(str(lying)).duration / av.time_base > 7200  # what the header says
    assert probe(lying, max_duration_s=60).duration_s == pytest.approx(JFK_S, abs=0.1)
    assert len(decode(lying, max_duration_s=60)) / SAMPLE_RATE == pytest.approx(JFK_S, abs=0.1)
    with pytest.raises(InvalidAudio) as refused:
        probe(lying, max_duration_s=5)
    assert refused.value.code == "too_long"


def test_a_cut_off_upload_decodes_what_arrived(tmp_path: Path) -> None:
    data = (FIXTURES / "jfk.mp3").read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(data[: len(data) // 2])
    assert len(decode(cut)) / SAMPLE_RATE == pytest.approx(JFK_S / 2, abs=0.5)


def test_a_recording_decoded_to_a_file_reads_back_a_span_at_a_time(tmp_path: Path) -> None:
    path = FIXTURES / "jfk_44k_stereo.wav"
    audio = decode(path)
    pcm = decode_to_file(path, tmp_path / "audio.f32")
    assert pcm.samples == len(audio)
    np.testing.assert_array_equal(pcm.read(0, pcm.samples), audio)
    np.testing.assert_array_equal(pcm.read(16_000, 48_000), audio[16_000:48_000])
    assert len(pcm.read(pcm.samples - 10, pcm.samples + 100)) == 10
    assert len(pcm.read(pcm.samples, pcm.samples + 100)) == 0


def test_a_recording_decoded_to_a_file_is_refused_once_too_long(tmp_path: Path) -> None:
    with pytest.raises(InvalidAudio) as refused:
        decode_to_file(FIXTURES / "jfk.webm", tmp_path / "audio.f32", max_duration_s=5.0)
    assert refused.value.code == "too_long"


@pytest.mark.parametrize("tempo", [0.6, 0.75])
def test_slowed_audio_keeps_its_pitch_and_the_order_of_its_sounds(tempo: float) -> None:
    """``stretched``: a tone at its own pitch, bursts where the slower pace puts them."""
    seconds = np.arange(4 * SAMPLE_RATE) / SAMPLE_RATE
    tone = (0.3 * np.sin(2 * np.pi * 220 * seconds)).astype(np.float32)
    bursts = np.zeros_like(tone)
    rng = np.random.default_rng(0)
    at = (0.5, 1.7, 3.2)
    for t in at:
        i = round(t * SAMPLE_RATE)
        bursts[i : i + SAMPLE_RATE // 10] = 0.5 * rng.standard_normal(SAMPLE_RATE // 10)

    slow = stretched(tone, tempo)
    assert len(slow) / SAMPLE_RATE == pytest.approx(4 / tempo, abs=0.2)
    spectrum = np.abs(np.fft.rfft(slow[SAMPLE_RATE : 3 * SAMPLE_RATE]))
    assert np.argmax(spectrum) / 2 == pytest.approx(220, abs=2)  # 2 s: bins of 0.5 Hz

    loud = np.abs(stretched(bursts, tempo)) > 0.01
    onsets = [i / SAMPLE_RATE for i in range(1, len(loud)) if loud[i] and not loud[i - 1]]
    firsts = [onsets[0]] + [b for a, b in itertools.pairwise(onsets) if b - a > 0.3]
    assert firsts == pytest.approx([t / tempo for t in at], abs=0.08)


def test_slowing_past_what_one_filter_does_is_refused() -> None:
    with pytest.raises(ValueError, match="tempo"):
        stretched(np.zeros(SAMPLE_RATE, dtype=np.float32), 0.2)
