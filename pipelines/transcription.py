"""One recording's transcript from any chunk transcriber: chunk → fan out → merge → trim →
check coverage.

The recording pipeline (``deployments/recording_pipeline.py``) and ``/v1/audio/transcriptions``
(through ``serve_app/services/transcription.py``) both call this; they differ only in how a
chunk is transcribed (a fallback chain, a Serve handle) and who hears about progress.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from pipelines.alignment import Voicing, refine_word_times, voicing
from pipelines.chunking import Chunk, chunk_plan
from pipelines.coverage import (
    Coverage,
    Speech,
    hidden_pauses,
    joined,
    lone_sounds,
    looped_speech,
    repair_windows,
    silero_speech,
    speech_under,
    splice,
    uncovered_speech,
    undecoded_speech,
    underwritten_speech,
    unworded_sounds,
    with_doubted_speech,
    without_echoes,
    without_loops,
    without_made_up_ending,
    without_misplaced_copies,
    without_unvoiced_segments,
)
from pipelines.loudness import gain_db, raised
from pipelines.merge import merge_chunks
from pipelines.repeats import Repeat, repeated_units
from pipelines.second_pass import SecondPass, second_pass
from pipelines.types import (
    SAMPLE_RATE,
    AudioArray,
    AudioSource,
    ChunkTranscript,
    Segment,
    SendSamples,
    SendSpan,
    Span,
    Transcript,
    TranscriptionOptions,
    Word,
    audio_source,
    millisecond,
)

TranscribeChunk = Callable[[AudioArray, TranscriptionOptions], Awaitable[ChunkTranscript]]
Progress = Callable[[int, int], Awaitable[None]]
"""Called with (chunks done, chunks in the plan): once with 0 before any chunk, then after each."""


async def transcribe_chunked(
    audio: AudioArray | AudioSource,
    options: TranscriptionOptions,
    transcribe_chunk: TranscribeChunk,
    *,
    target_s: float,
    max_s: float,
    overlap_s: float,
    spread: int = 1,
    in_flight: int | None = None,
    progress: Progress | None = None,
    disfluency_evidence: bool = True,
) -> Transcript:
    """Cut ``audio`` into chunks at pauses, transcribe them concurrently, merge the results
    into one transcript with times relative to the whole audio, trim word times to the voiced
    audio, and transcribe again any voiced stretch that no word covers (``pipelines.coverage``).

    At most ``in_flight`` pieces of audio (chunks, then repairs) are read and sent at once
    (None: all of them); with an ``AudioSource`` that reads from disk, that and the per-frame
    arrays of the checks are all of the recording held in memory.

    The second pass's windows are sent in a multiple of ``spread`` calls: the transcribers that
    work on one recording at once, so each decodes a share.

    Coverage needs word times: with ``options.word_timestamps`` off it is not checked and the
    transcript's ``coverage`` stays empty. ``disfluency_evidence`` also looks for what the fluency
    metrics need beyond the words (``pipelines.repeats``, ``pipelines.second_pass``, which
    decodes unsure stretches again): off for a caller that wants only the text.
    """
    # A quiet recording is read raised to a speech level from here on (``pipelines.loudness``).
    audio = await asyncio.to_thread(raised, audio_source(audio))
    send, send_samples = _bounded(transcribe_chunk, audio, in_flight)
    plan = await asyncio.to_thread(
        chunk_plan, audio, target_s=target_s, max_s=max_s, overlap_s=overlap_s
    )
    done = 0
    if progress is not None:
        await progress(done, len(plan))
    # Where the audio is voiced is worked out in threads while the chunks are transcribed
    # elsewhere: frame levels for trimming word times, Silero VAD for the coverage check.
    levels = asyncio.ensure_future(asyncio.to_thread(voicing, audio))
    speech = (
        asyncio.ensure_future(asyncio.to_thread(silero_speech, audio))
        if options.word_timestamps
        else None
    )

    async def one(chunk: Chunk) -> ChunkTranscript:
        nonlocal done
        result = await send(
            round(chunk.start_s * SAMPLE_RATE), round(chunk.end_s * SAMPLE_RATE), options
        )
        done += 1
        if progress is not None:
            await progress(done, len(plan))
        return result

    try:
        results = await asyncio.gather(*(one(chunk) for chunk in plan))
    except BaseException:
        for pending in (levels, speech):
            if pending is not None:
                pending.cancel()
        raise
    voiced = await levels
    merged = refine_word_times(merge_chunks(plan, results), voiced.heard)
    if speech is None:
        return merged
    return await _covered(
        merged,
        audio,
        voiced,
        await speech,
        options,
        send,
        send_samples,
        disfluency_evidence,
        spread,
    )


def _bounded(
    transcribe_chunk: TranscribeChunk, audio: AudioSource, in_flight: int | None
) -> tuple[SendSpan, SendSamples]:
    """``transcribe_chunk`` of a span of ``audio`` (or of audio a reader makes from it), read
    only once one of ``in_flight`` slots is free, and let go when its transcript is back."""
    slots = asyncio.Semaphore(in_flight) if in_flight is not None else None

    async def send_samples(
        read: Callable[[], AudioArray], options: TranscriptionOptions
    ) -> ChunkTranscript:
        if slots is None:
            return await transcribe_chunk(read(), options)
        async with slots:
            samples = await asyncio.to_thread(read)
            return await transcribe_chunk(samples, options)

    async def send(start: int, end: int, options: TranscriptionOptions) -> ChunkTranscript:
        return await send_samples(partial(audio.read, start, end), options)

    return send, send_samples


async def _covered(
    transcript: Transcript,
    audio: AudioSource,
    voicing: Voicing,
    vad: Speech,
    options: TranscriptionOptions,
    send: SendSpan,
    send_samples: SendSamples,
    disfluency_evidence: bool,
    spread: int,
) -> Transcript:
    """``transcript`` with its voiced stretches that no word covers transcribed again: found
    against ``voicing.heard``; the words' times, pauses and disfluency evidence are then read
    against ``voicing.speech``."""
    sounding = voicing.heard
    duration = audio.samples / SAMPLE_RATE
    if any(s.text and not s.words for s in transcript.segments):
        return transcript  # a backend without word times: nothing to check against
    segments, removed = without_unvoiced_segments(transcript.segments, vad.spans, sounding)
    segments, echoed = without_echoes(segments)
    segments, ending = without_made_up_ending(segments)
    removed += echoed + ending
    # A decoder loop's words go first: the speech under them is then decoded again like any
    # speech whisper skipped, and the words the repairs add are counted net of them.
    looped = looped_speech(_words(segments))
    segments, unlooped = without_loops(segments, looped)
    held = _words(segments)
    # Off the event loop: on a long recording these take seconds, and a job's heartbeat runs there.
    unworded = await asyncio.to_thread(unworded_sounds, audio, sounding, held)
    speech = with_doubted_speech(vad, unworded)
    gaps = joined(
        [
            *uncovered_speech(speech, held),
            *speech_under(speech, looped),
            *lone_sounds(vad, unworded, held),
        ]
    )
    underwritten = underwritten_speech(speech, held)
    done = await _repaired(
        segments, gaps, speech, sounding, duration, options, send, underwritten=underwritten
    )
    segments, windows = done.segments, done.windows
    added, removed = done.added - done.misplaced - unlooped, removed + done.removed
    if done.misplaced:
        # The audio under a removed copy is without words now: decode it too, once, however
        # short (a word beside it may cover most of it by ``uncovered_speech``'s measure).
        laid = sorted(done.copies)
        again = await _repaired(
            segments, laid, speech, sounding, duration, options, send, take_out_copies=False
        )
        segments, windows = again.segments, windows + again.windows
        added, removed = added + again.added, removed + again.removed
    # The repairs' words trimmed like the rest; and, the sentences laid on silence judged (made
    # up or not, ``without_unvoiced_segments``), a word wholly on silence takes no time there.
    # Every word, every recording (0.2 s for 14,000 words): off the event loop too.
    voiced = voicing.speech
    repaired = await asyncio.to_thread(
        refine_word_times, transcript.with_segments(segments), voiced, off_voice=True
    )
    words = repaired.words()
    left = uncovered_speech(speech, words)
    sounds = (
        await asyncio.to_thread(unworded_sounds, audio, voiced, words)
        if windows or voiced is not sounding
        else unworded  # no repair: the same words and levels, so the same sounds
    )
    english = (repaired.language or options.language or "").split("-")[0] == "en"
    repeats = asyncio.ensure_future(
        asyncio.to_thread(repeated_units, audio) if disfluency_evidence else _nothing()
    )
    heard = (
        await second_pass(audio, words, voiced, options, send_samples, spread)
        if english and disfluency_evidence
        else SecondPass(windows=(), fillers=())
    )
    coverage = Coverage(
        voiced_s=sum(end - start for start, end in speech),
        uncovered_s=sum(end - start for start, end in joined([*gaps, *underwritten])),
        looped_s=sum(end - start for start, end in looped),
        repairs=len(windows),
        words_recovered=added,
        unrecovered_s=sum(end - start for start, end in left),
        removed_segments=removed,
        misplaced_words=done.misplaced,
        unrecovered=tuple(left),
        sounds=tuple(sounds),
        repeats=tuple(await repeats),
        second_pass_windows=len(heard.windows),
        fillers=heard.fillers,
        pauses=tuple(hidden_pauses(voiced, words)),
        raised_db=gain_db(audio),
    )
    return replace(repaired, coverage=coverage.to_dict())


@dataclass(frozen=True, slots=True)
class _Repairs:
    segments: list[Segment]
    windows: list[Span]
    added: int
    removed: int
    misplaced: int
    """Words taken out as copies (``without_misplaced_copies``)..."""
    copies: list[Span]
    """...and where they lay."""


REPAIR_ROUNDS = 3
"""Decodes of one repair: the first, and at most two more, each of the speech after where the
one before stopped writing, or of the gaps alone when the one before was widened to the
segments beside them and left them without words (``undecoded_speech``)."""


async def _repaired(
    segments: list[Segment],
    gaps: Sequence[Span],
    speech: Sequence[Span],
    voiced: np.ndarray,
    duration: float,
    options: TranscriptionOptions,
    send: SendSpan,
    *,
    take_out_copies: bool = True,
    underwritten: Sequence[Span] = (),
) -> _Repairs:
    """``segments`` with ``gaps`` transcribed again and spliced in. With ``take_out_copies``
    the first pass's copies of what a repair wrote are taken out (``without_misplaced_copies``):
    the caller then decodes the audio they were laid over. ``underwritten``, speech under
    drawn-out words that may stand over skipped speech (``underwritten_speech``), is decoded
    again too; a retry's words replace the held ones there only when it heard far more.

    Speech still without words after the last word a repair wrote is decoded again on its own,
    for up to ``REPAIR_ROUNDS`` in all: "English, then a sentence in German, then English"
    decoded as one window comes back as the first English sentence alone."""
    done = _Repairs(segments, [], 0, 0, 0, [])
    wanted = joined([*gaps, *underwritten])
    plain = set(repair_windows(wanted, duration))
    windows = repair_windows(wanted, duration, segments)
    for _ in range(REPAIR_ROUNDS):
        found = await asyncio.gather(
            *(_transcribe_span(window, options, send) for window in windows)
        )
        for window, retry in zip(windows, found, strict=True):
            done = _spliced(
                done, window, retry, gaps, speech, voiced, take_out_copies, underwritten
            )
        left = uncovered_speech(speech, _words(done.segments))
        gaps = [
            piece
            for window, retry in zip(windows, found, strict=True)
            for piece in undecoded_speech(left, window, retry, widened=window not in plain)
        ]
        # Not widened to the segments beside them: that would decode the same window again.
        windows = repair_windows(gaps, duration)
        plain = set(windows)
        underwritten = ()
        if not windows:
            break
    return done


def _spliced(
    done: _Repairs,
    window: Span,
    retry: list[Segment],
    gaps: Sequence[Span],
    speech: Sequence[Span],
    voiced: np.ndarray,
    take_out_copies: bool,
    underwritten: Sequence[Span],
) -> _Repairs:
    """``done`` with one repair window's transcript spliced in."""
    segments, misplaced, copies = done.segments, done.misplaced, done.copies
    kept, dropped = without_unvoiced_segments(retry, speech, voiced)
    if take_out_copies:
        held = len(_words(segments))
        segments, placed = without_misplaced_copies(segments, window, kept)
        misplaced, copies = misplaced + held - len(_words(segments)), copies + placed
    segments, gained = splice(segments, window, kept, gaps, speech, underwritten)
    return _Repairs(
        segments,
        [*done.windows, window],
        done.added + gained,
        done.removed + dropped,
        misplaced,
        copies,
    )


async def _transcribe_span(
    span: Span, options: TranscriptionOptions, send: SendSpan
) -> list[Segment]:
    start = round(span[0] * SAMPLE_RATE)
    result = await send(start, round(span[1] * SAMPLE_RATE), options)
    offset = start / SAMPLE_RATE
    return [
        Segment(
            start=millisecond(s.start + offset),
            end=millisecond(s.end + offset),
            text=s.text,
            words=tuple(w.placed(offset) for w in s.words if w.word.strip()),
        )
        for s in result.segments
    ]


async def _nothing() -> list[Repeat]:
    return []


def _words(segments: Sequence[Segment]) -> list[Word]:
    return [w for s in segments for w in s.words]
