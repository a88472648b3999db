"""One recording's transcript from any chunk transcriber: chunk → fan out → merge → trim.

The dispatcher (recordings) and ``/v1/audio/transcriptions`` both call this; they differ only in
how a chunk is transcribed (a backend router, a Serve handle) and who hears about progress.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from deployments.transcriber import AudioArray
from pipelines.alignment import refine_word_times
from pipelines.chunking import Chunk, chunk_audio, chunk_plan
from pipelines.merge import merge_chunks
from pipelines.types import ChunkTranscript, Transcript, TranscriptionOptions

TranscribeChunk = Callable[[AudioArray, TranscriptionOptions], Awaitable[ChunkTranscript]]
Progress = Callable[[int, int], Awaitable[None]]
"""Called with (chunks done, chunks in the plan): once with 0 before any chunk, then after each."""


async def transcribe_chunked(
    audio: AudioArray,
    options: TranscriptionOptions,
    transcribe_chunk: TranscribeChunk,
    *,
    target_s: float,
    max_s: float,
    overlap_s: float,
    progress: Progress | None = None,
) -> Transcript:
    """Cut ``audio`` into chunks at pauses, transcribe them all at once, merge the results
    into one transcript with times relative to the whole audio, and trim word times to the
    voiced audio."""
    plan = chunk_plan(audio, target_s=target_s, max_s=max_s, overlap_s=overlap_s)
    done = 0
    if progress is not None:
        await progress(done, len(plan))

    async def one(chunk: Chunk) -> ChunkTranscript:
        nonlocal done
        result = await transcribe_chunk(chunk_audio(audio, chunk), options)
        done += 1
        if progress is not None:
            await progress(done, len(plan))
        return result

    results = await asyncio.gather(*(one(chunk) for chunk in plan))
    return await asyncio.to_thread(refine_word_times, merge_chunks(plan, results), audio)
