"""Open untrusted uploads as audio: ``probe`` proves a file is audio, ``decode`` makes PCM.

Extensions and content types are whatever the client says, so FFmpeg sniffs the bytes, only
audio-container demuxers and local files are allowed (a playlist or concat file could otherwise
make FFmpeg read other files or URLs), and a file counts as audio only once frames decode.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.error
import numpy as np
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import InputContainer

from pipelines.types import SAMPLE_RATE, AudioArray

InvalidAudioCode = Literal[
    "empty_file", "not_audio", "unsupported_audio", "corrupt_audio", "too_long", "invalid_channel"
]


class Channel(StrEnum):
    """Which of a two-channel recording's channels is the speech to measure.

    ``mix`` (the default) hears both: a phone or a single microphone records the same sound on
    each. A session recorded with a microphone per person (the client on one channel, the
    clinician on the other) is two voices at once when mixed: over ``stereo_diarization.wav``
    (``../shared/audio``; one speaker per channel, talking over each other) whisper wrote one
    garbled sentence of both ("He realizes if you seem to play in the desert") and nothing of
    the second speaker; each channel alone gives its speaker's words. ``left`` or ``right``
    keeps that channel only."""

    mix = "mix"
    left = "left"
    right = "right"


_OPEN_OPTIONS = {
    "format_whitelist": "wav,w64,aiff,caf,mp3,aac,flac,ogg,matroska,mov,amr",
    "protocol_whitelist": "file",
}
_MIXDOWN = {"rematrix_maxval": "1.0"}
"""Mix channels down to their mean: FFmpeg's default (-3 dB each) lets stereo exceed ±1.0."""
_FLOAT32_BYTES = 4
_PROBE_DECODE_S = 0.5
"""How much audio ``probe`` decodes: several frames of any codec, a few ms of CPU."""


class InvalidAudio(Exception):
    """The file cannot be used as a recording; ``code`` is the API error code."""

    def __init__(self, code: InvalidAudioCode, message: str) -> None:
        super().__init__(message)
        self.code: InvalidAudioCode = code
        self.message = message

    def __reduce__(self) -> tuple[type[InvalidAudio], tuple[InvalidAudioCode, str]]:
        # Pickled whole (a process pool, a Ray task): the default pickles ``args`` only.
        return type(self), (self.code, self.message)


@dataclass(frozen=True, slots=True)
class AudioInfo:
    duration_s: float
    codec: str
    container: str
    sample_rate: int
    channels: int


def probe(path: Path, *, max_duration_s: float | None = None) -> AudioInfo:
    """Check that ``path`` holds decodable audio and measure it, without decoding it all.

    The duration comes from the header when there is one; browser recordings (WebM from
    MediaRecorder) have none, so then it is the end of the last demuxed packet, which reads
    the file but decodes nothing. So it is too where the header says the audio runs past
    ``max_duration_s``: a header can be wrong (an MP3 whose frame count was written wrong said
    3,616 s and 7,333 s of its 11 s), and the packets decide whether it is too long. Raises
    ``InvalidAudio`` (``too_long`` as soon as the packets run past ``max_duration_s``).
    """
    with _open_audio(path) as (container, stream):
        duration_s = _header_duration_s(container)
        packets = _packets(container, stream)
        decoded_s = 0.0
        for frame in _frames(packets, duration_s):
            decoded_s += frame.samples / frame.sample_rate
            if decoded_s >= _PROBE_DECODE_S:
                break
        if duration_s is None or _past(duration_s, max_duration_s):
            duration_s = max(decoded_s, _demuxed_end_s(packets, stream, max_duration_s))
        codec = stream.codec_context
        return AudioInfo(
            duration_s=duration_s,
            codec=codec.codec.canonical_name,
            container=container.format.name,
            sample_rate=codec.sample_rate,
            channels=codec.channels,
        )


def decode(
    path: Path,
    sample_rate: int = SAMPLE_RATE,
    *,
    max_duration_s: float | None = None,
    channel: Channel = Channel.mix,
) -> AudioArray:
    """Decode the main audio stream of ``path`` to mono float32 PCM at ``sample_rate``: its
    channels mixed, or the one ``channel`` names (``check_channel``).

    Frames stream through a resampler into one growing buffer, so memory is about the output
    size whatever the source rate and channel count.
    """
    with _open_audio(path) as (container, stream):
        header_s = _header_duration_s(container)
        # Without a header duration, start with a minute's room; the buffer grows as needed.
        pcm = _PcmBuffer(int((header_s or 60.0) * sample_rate) + sample_rate)
        for samples in _decoded(container, stream, sample_rate, max_duration_s, channel):
            pcm.append(samples)
        return pcm.finish()


def decode_to_file(
    path: Path,
    pcm_path: Path,
    sample_rate: int = SAMPLE_RATE,
    *,
    max_duration_s: float | None = None,
    channel: Channel = Channel.mix,
) -> PcmFile:
    """``decode``, written to ``pcm_path`` as raw float32 a second at a time instead of kept.

    What this process holds stays about a second of audio however long the recording, so a
    2-hour one costs 460 MB of disk next to its download, not of memory.
    """
    samples = 0
    heard = ChannelsHeard()
    with _open_audio(path) as (container, stream), pcm_path.open("wb") as out:
        for block in _decoded(container, stream, sample_rate, max_duration_s, channel, heard):
            block.tofile(out)
            samples += len(block)
    return PcmFile(pcm_path, samples, channels_apart=heard.apart)


MIN_TEMPO = 0.5
"""The slowest ``stretched`` plays audio: FFmpeg's ``atempo`` limit for one filter."""
_TEMPO_TAIL_S = 0.1
"""Silence fed after the audio: ``atempo`` keeps back up to its last window (tens of ms)."""


def stretched(samples: AudioArray, tempo: float, sample_rate: int = SAMPLE_RATE) -> AudioArray:
    """``samples`` played at ``tempo`` times their speed (below 1 slower), the pitch kept.

    FFmpeg's ``atempo`` filter (WSOLA: overlapping pieces of the waveform, each laid where it
    best continues the last), through PyAV, which already decodes every upload: a second at
    ``t`` comes back at about ``t / tempo`` (within tens of ms), and a little silence after.
    """
    if not MIN_TEMPO <= tempo <= 1 / MIN_TEMPO:
        raise ValueError(f"tempo {tempo} is outside [{MIN_TEMPO}, {1 / MIN_TEMPO}]")
    tail = np.zeros(round(_TEMPO_TAIL_S * sample_rate), dtype=np.float32)
    block = np.concatenate([samples.astype(np.float32, copy=False), tail])
    graph = av.filter.Graph()
    source = graph.add_abuffer(
        format="flt", sample_rate=sample_rate, layout="mono", time_base=Fraction(1, sample_rate)
    )
    atempo = graph.add("atempo", str(tempo))
    sink = graph.add("abuffersink")
    source.link_to(atempo)
    atempo.link_to(sink)
    graph.configure()
    frame = AudioFrame.from_ndarray(block.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = sample_rate
    frame.pts = 0
    frame.time_base = Fraction(1, sample_rate)
    graph.push(frame)
    graph.push(None)  # the end: atempo flushes what it holds
    pieces = []
    while True:
        try:
            out = graph.pull()
        except EOFError:
            break
        pieces.append(out.to_ndarray().reshape(-1))
    result: AudioArray = np.concatenate(pieces).astype(np.float32, copy=False)
    return result


@dataclass(frozen=True, slots=True)
class PcmFile:
    """Mono float32 samples in a raw file (``decode_to_file``), read a span at a time: an
    ``AudioSource`` whose reads hold only the span asked for."""

    path: Path
    samples: int
    channels_apart: bool = False
    """Whether its two channels, mixed, carried different sounds (``ChannelsHeard``)."""

    def read(self, start: int, end: int) -> AudioArray:
        start, end = max(0, start), min(end, self.samples)
        if end <= start:
            return np.zeros(0, dtype=np.float32)
        with self.path.open("rb") as f:
            f.seek(start * _FLOAT32_BYTES)
            return np.fromfile(f, dtype=np.float32, count=end - start)


def _decoded(
    container: InputContainer,
    stream: AudioStream,
    sample_rate: int,
    max_duration_s: float | None,
    channel: Channel,
    heard: ChannelsHeard | None = None,
) -> Iterator[AudioArray]:
    """Mono float32 PCM of ``stream`` (its channels mixed, or ``channel`` alone) in blocks of
    about a second; raises ``too_long`` as soon as the audio is known to run past
    ``max_duration_s``. Two channels mixed are told to ``heard`` block by block."""
    header_s = _header_duration_s(container)  # not trusted for the length: ``probe``
    check_channel(channel, stream.codec_context.channels)
    limit = None if max_duration_s is None else int(max_duration_s * sample_rate)
    # Output in frames of a second, not the codec's (20 ms for Opus): the per-frame Python
    # work (to_ndarray, the copy) dominated decoding 10 minutes of Opus (3.2 s → 1.8 s).
    two_channels = stream.codec_context.channels == 2
    resampler = av.AudioResampler(
        format="fltp" if two_channels else "flt",
        layout="stereo" if two_channels else "mono",
        rate=sample_rate,
        frame_size=sample_rate,
        options=_MIXDOWN,
    )
    mix = _StereoMixdown(heard) if two_channels and channel == Channel.mix else None
    kept = 1 if channel == Channel.right else 0

    def mono(resampled: AudioFrame) -> AudioArray:
        planes: AudioArray = resampled.to_ndarray().astype(np.float32, copy=False)
        return _without_dc_offset(planes[kept] if mix is None else mix(planes))

    decoded = 0
    for frame in _frames(_packets(container, stream), header_s):
        for resampled in resampler.resample(frame):
            samples = mono(resampled)
            decoded += len(samples)
            yield samples
        if limit is not None and decoded > limit:
            raise _too_long(max_duration_s)
    for resampled in resampler.resample(None):
        yield mono(resampled)


def check_channel(channel: Channel, channels: int) -> None:
    """Raise ``invalid_channel`` when ``channel`` names one of two channels and the recording
    has another number of them (a mono file has no left or right to keep)."""
    if channel != Channel.mix and channels != 2:
        raise InvalidAudio(
            "invalid_channel",
            f"channel {channel.value} needs a two-channel recording; this one has {channels} "
            f"channel{'s' if channels != 1 else ''}: send channel=mix",
        )


@dataclass
class ChannelsHeard:
    """Whether a two-channel recording's channels carry one sound or two, read block by block
    (a second) as they are mixed.

    A phone or a single microphone records the same sound on both (correlation ±1: 1.00 in
    every block of ``jfk.flac`` and ``multilingual.mp3``, -1.00 with one channel wired out of
    phase); a microphone per speaker records two voices, and where both sound their correlation
    is near 0 (0.06, -0.08 and 0.00 in ``stereo_diarization.wav``). Mixed, two voices at once
    are a garble to whisper, so the report says so and names ``channel``. Blocks where either
    channel is silent (under ``SOUNDING``) say nothing."""

    APART = 0.3
    """A block whose channels correlate less than this (either way) carries two sounds."""
    SOUNDING = 1e-4
    """RMS (-80 dBFS) under which a channel is silent in a block."""
    BLOCKS = 3
    """Blocks apart needed, and at least as many as blocks together: a few seconds of two
    voices, not a stray click on one side."""

    apart_blocks: int = 0
    together_blocks: int = 0

    def block(self, correlation: float, quieter_rms: float) -> None:
        if quieter_rms < self.SOUNDING:
            return
        if abs(correlation) < self.APART:
            self.apart_blocks += 1
        else:
            self.together_blocks += 1

    @property
    def apart(self) -> bool:
        return self.apart_blocks >= max(self.BLOCKS, self.together_blocks)


class _StereoMixdown:
    """Two channels to their mean, block by block, with the second channel's polarity turned
    round while the two are strongly opposed.

    Dual-mono recordings with one channel wired out of phase (a miswired balanced cable, some
    phone and camera microphones) carry the same speech as +x and -x: their plain mean, FFmpeg's
    downmix included, is silence, and the recording would be transcribed as empty. A block whose
    channels correlate below -``OPPOSED`` turns the second one round until a block correlates
    above ``OPPOSED`` again; channels that carry different sounds (two speakers, room
    ambience) correlate near 0 and are mixed as they are.
    """

    OPPOSED = 0.5

    def __init__(self, heard: ChannelsHeard | None = None) -> None:
        self._sign = 1.0
        self._heard = heard

    def __call__(self, planes: AudioArray) -> AudioArray:
        left, right = planes[0], planes[1]
        left_energy, right_energy = float(np.dot(left, left)), float(np.dot(right, right))
        energy = left_energy * right_energy
        if energy > 0.0:
            correlation = float(np.dot(left, right)) / float(np.sqrt(energy))
            if correlation * self._sign < -self.OPPOSED:
                self._sign = -self._sign
            if self._heard is not None:
                quieter_rms = float(np.sqrt(min(left_energy, right_energy) / len(left)))
                self._heard.block(correlation, quieter_rms)
        mixed: AudioArray = ((left + self._sign * right) * 0.5).astype(np.float32)
        return mixed


DC_OFFSET = 0.01
"""A block (a second) whose mean is further from 0 than this (-40 dBFS) has a DC offset, which
``_decoded`` subtracts. Speech's own second-long means stay under 0.005 (the 259 recordings in
``tests/fixtures`` and ``../shared/audio``), so a recording without an offset is not touched."""


def _without_dc_offset(samples: AudioArray) -> AudioArray:
    """``samples`` less their mean when that mean is a DC offset (``DC_OFFSET``).

    An offset (a cheap USB sound card, a badly biased microphone input) lifts every frame's
    level, so the silence level between words sits close to the speech and the checks that read
    levels (voiced frames, word trimming, what counts as said) dropped whole sentences: 41 words
    lost against raw whisper's 1 on a recording with an offset of 0.2, twice its speech's RMS
    (at 0.1, none). An offset is steady over a recording, so a second's mean measures it.
    """
    mean = float(np.mean(samples, dtype=np.float64)) if len(samples) else 0.0
    if abs(mean) <= DC_OFFSET:
        return samples
    shifted: AudioArray = (samples - np.float32(mean)).astype(np.float32, copy=False)
    return shifted


@contextmanager
def _open_audio(path: Path) -> Iterator[tuple[InputContainer, AudioStream]]:
    if path.stat().st_size == 0:
        raise InvalidAudio("empty_file", "the file is empty")
    try:
        container = av.open(str(path), mode="r", options=_OPEN_OPTIONS, metadata_errors="replace")
    except av.error.FFmpegError as e:
        if _is_mp4(path):
            raise InvalidAudio(
                "corrupt_audio",
                "the MP4/M4A file cannot be read: its index (the moov box) is missing or "
                "damaged, as when an upload or a recording is cut short",
            ) from e
        raise InvalidAudio("not_audio", "the file is not a recognised audio format") from e
    with container:
        stream = container.streams.best("audio")
        if not isinstance(stream, AudioStream):
            raise InvalidAudio("not_audio", "the file has no audio track")
        if stream.codec_context is None:
            raise InvalidAudio("unsupported_audio", "the audio codec is not supported")
        yield container, stream


def _is_mp4(path: Path) -> bool:
    """Whether the file opens as an ISO media file (MP4, M4A, MOV) does: an ``ftyp`` box first.
    Most recorders write the index that says where the audio is (``moov``) after the audio,
    so such a file cut short cannot be opened at all, though it is no other format."""
    with path.open("rb") as file:
        return file.read(8)[4:] == b"ftyp"


def _packets(container: InputContainer, stream: AudioStream) -> Iterator[av.Packet[AudioStream]]:
    """Demuxed packets of ``stream``; a damaged container ends it, as for a truncated upload."""
    demuxed = container.demux(stream)
    while True:
        try:
            yield next(demuxed)
        except (StopIteration, av.error.InvalidDataError):
            return


def _frames(
    packets: Iterator[av.Packet[AudioStream]], header_s: float | None
) -> Iterator[AudioFrame]:
    """Decoded frames; a damaged packet is skipped (as ffmpeg does) so one bad spot in a long
    recording doesn't lose the rest, but a stream that yields nothing raises ``InvalidAudio``:
    ``corrupt_audio`` if packets failed or the header promised audio, else ``empty_file``."""
    damaged = 0
    decoded = False
    for packet in packets:
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            damaged += 1
            continue
        except av.error.FFmpegError as e:
            raise InvalidAudio("unsupported_audio", "the audio codec is not supported") from e
        for frame in frames:
            if frame.samples:
                decoded = True
                yield frame
    if not decoded and (damaged or header_s):
        raise InvalidAudio("corrupt_audio", "the audio stream is damaged and cannot be decoded")
    if not decoded:
        raise InvalidAudio("empty_file", "the file contains no audio")


def _header_duration_s(container: InputContainer) -> float | None:
    return None if container.duration is None else container.duration / av.time_base


def _demuxed_end_s(
    packets: Iterator[av.Packet[AudioStream]], stream: AudioStream, max_duration_s: float | None
) -> float:
    end_s = 0.0
    for packet in packets:
        if packet.pts is None or packet.time_base is None:
            continue
        end_s = max(end_s, float((packet.pts + (packet.duration or 0)) * packet.time_base))
        _check_length(end_s, max_duration_s)
    start, time_base = stream.start_time, stream.time_base
    return end_s - (0.0 if start is None or time_base is None else float(start * time_base))


def _check_length(duration_s: float, max_duration_s: float | None) -> None:
    if _past(duration_s, max_duration_s):
        raise _too_long(max_duration_s)


def _past(duration_s: float, max_duration_s: float | None) -> bool:
    return max_duration_s is not None and duration_s > max_duration_s


def _too_long(max_duration_s: float | None) -> InvalidAudio:
    return InvalidAudio("too_long", f"the audio is longer than {max_duration_s:g} seconds")


class _PcmBuffer:
    """Mono float32 samples appended block by block; grows geometrically, trimmed at the end."""

    def __init__(self, capacity: int) -> None:
        self._data: AudioArray = np.empty(capacity, dtype=np.float32)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, samples: AudioArray) -> None:
        end = self._size + len(samples)
        if end > len(self._data):
            grown: AudioArray = np.empty(max(end, len(self._data) * 3 // 2), dtype=np.float32)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : end] = samples
        self._size = end

    def finish(self) -> AudioArray:
        self._data.resize(self._size, refcheck=False)
        return self._data
