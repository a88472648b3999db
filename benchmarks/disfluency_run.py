"""One labelled clip through the platform's own path: decode, chunk, transcribe with the local
model, check coverage, then the report generator's metrics. Shared by ``disfluency.py`` and the
regression test, so both measure the same thing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import ctranslate2

from deployments.local_whisper import LocalWhisperTranscriber
from deployments.report_generator import ReportGenerator
from fluently.settings import PipelineSettings
from pipelines.audio import decode
from pipelines.transcription import transcribe_chunked
from pipelines.types import (
    SAMPLE_RATE,
    AudioArray,
    ChunkTranscript,
    Transcript,
    TranscriptionOptions,
)


def run_clip(
    path: Path, transcriber: LocalWhisperTranscriber, reporter: ReportGenerator
) -> tuple[Transcript, dict[str, Any], float]:
    """The platform's transcript and metrics for one file, and the seconds they took."""
    pipeline = PipelineSettings()

    async def transcribe_chunk(audio: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        return await asyncio.to_thread(transcriber.transcribe, audio, options)

    # Disfluent speech often sends whisper into its temperature fallback, which samples:
    # a fixed seed per clip makes a rerun give the same transcripts.
    ctranslate2.set_random_seed(0)
    started = time.perf_counter()
    audio = decode(path)
    merged = asyncio.run(
        transcribe_chunked(
            audio,
            TranscriptionOptions(language="en"),
            transcribe_chunk,
            target_s=pipeline.chunk_target_s,
            max_s=pipeline.chunk_max_s,
            overlap_s=pipeline.chunk_overlap_s,
        )
    )
    # Through the same dict the dispatcher stores and hands to the report deployment.
    transcript = Transcript.from_dict(merged.to_dict())
    report = reporter.generate(
        transcript=transcript,
        duration_s=len(audio) / SAMPLE_RATE,
        report_type="fluency_analysis",
        language="en",
    )
    return transcript, report.metrics, time.perf_counter() - started
