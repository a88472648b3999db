"""One recording, start to finish: load → decode → chunk → fan out → merge → report → persist.

Plain async code over its ports: where the audio is stored, how a chunk is transcribed, who
writes the report, and where the recording's progress and results go. The job loop
(``deployments.job_loop``) binds the last to a claimed job; a test can bind them to anything.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from deployments.languages import for_backend
from fluently import metrics, tracing
from fluently.logging import get_logger
from fluently.settings import PipelineSettings
from fluently.storage import StorageProvider
from pipelines.audio import Channel, PcmFile, decode_to_file
from pipelines.coverage import coverage_counts
from pipelines.transcription import TranscribeChunk, transcribe_chunked
from pipelines.types import (
    SAMPLE_RATE,
    AudioArray,
    ChunkTranscript,
    FluencyReport,
    Transcript,
    TranscriptionOptions,
)

log = get_logger("dispatcher")
JOB_WORKDIR_PREFIX = "job-"
"""A job's working folder (the download, the decoded audio) in the data folder's ``tmp``."""
UNRECOVERED_WARNING_S = 5.0
"""Voiced audio still without words after the coverage repairs that an operator should see:
noise or music reads as voiced for a second or two, a lost sentence for more."""


@dataclass(frozen=True, slots=True)
class RecordingToProcess:
    """What the pipeline needs to know about the recording it processes."""

    id: uuid.UUID
    storage_key: str
    language: str
    """What is spoken, as the upload gave it (``auto`` to let the backend detect it)."""
    report_type: str
    report_language: str
    channel: Channel = Channel.mix
    """Both channels mixed, or the one the speech to measure is on."""


class RecordingStore(Protocol):
    """Where one recording is read and its progress and results are written."""

    async def begin(self) -> RecordingToProcess | None:
        """The recording, now marked processing with no chunks done; None if it was deleted."""

    async def progress(self, *, done: int, total: int) -> None: ...

    async def finish(
        self, *, transcript: Transcript, report: FluencyReport, duration_s: float
    ) -> None:
        """Store the results and mark the recording processed, its duration now the length of
        the audio decoded (``duration_s``), not what its header said at upload."""


class ReportWriter(Protocol):
    async def __call__(
        self, *, transcript: Transcript, duration_s: float, report_type: str, language: str
    ) -> FluencyReport: ...


async def process_recording(
    store: RecordingStore,
    *,
    storage: StorageProvider,
    transcribe_chunk: TranscribeChunk,
    write_report: ReportWriter,
    chunking: PipelineSettings,
    tmp_dir: Path,
) -> None:
    """Transcribe the recording ``store`` holds, write its report and store both there.

    Traced: ``load``, a ``chunk`` span per chunk transcribed, ``report`` and ``store``.
    """
    rec = await store.begin()
    if rec is None:
        return
    started = time.perf_counter()
    await asyncio.to_thread(tmp_dir.mkdir, parents=True, exist_ok=True)
    # The recording is decoded to a PCM file in here and read a chunk at a time, so what the
    # dispatcher holds does not grow with its length; the directory goes once it is transcribed.
    with tempfile.TemporaryDirectory(dir=tmp_dir, prefix=JOB_WORKDIR_PREFIX) as workdir:
        with tracing.span("load"):
            audio = await _load_audio(storage, rec.storage_key, Path(workdir), rec.channel)
        duration_s = audio.samples / SAMPLE_RATE
        loaded = time.perf_counter()

        async def progress(done: int, total: int) -> None:
            await store.progress(done=done, total=total)

        async def traced_chunk(chunk: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
            with tracing.span("chunk", attributes={"fluently.audio_s": len(chunk) / SAMPLE_RATE}):
                return await transcribe_chunk(chunk, options)

        transcript = await transcribe_chunked(
            audio,
            TranscriptionOptions(language=for_backend(rec.language)),
            traced_chunk,
            target_s=chunking.chunk_target_s,
            max_s=chunking.chunk_max_s,
            overlap_s=chunking.chunk_overlap_s,
            spread=chunking.spread,
            in_flight=chunking.chunks_in_flight,
            progress=progress,
        )
    if audio.channels_apart:
        # Two voices mixed into one (``pipelines.audio.ChannelsHeard``): the report says so.
        transcript = replace(transcript, coverage={**transcript.coverage, "channels_apart": True})
    transcribed = time.perf_counter()
    with tracing.span("report"):
        report = await write_report(
            transcript=transcript,
            duration_s=duration_s,
            report_type=rec.report_type,
            language=rec.report_language,
        )
    reported = time.perf_counter()
    with tracing.span("store"):
        await store.finish(transcript=transcript, report=report, duration_s=duration_s)
    metrics.RECORDINGS_PROCESSED.inc()
    metrics.RECORDING_AUDIO.inc(duration_s)
    metrics.COVERAGE_REPAIRS.inc(transcript.coverage.get("repairs", 0))
    metrics.WORDS_RECOVERED.inc(transcript.coverage.get("words_recovered", 0))
    log.info(
        "recording processed",
        extra={
            "recording_id": str(rec.id),
            "chunks": len(transcript.chunks),
            "duration_s": duration_s,
            "load_s": round(loaded - started, 3),
            "transcribe_s": round(transcribed - loaded, 3),
            "report_s": round(reported - transcribed, 3),
            "store_s": round(time.perf_counter() - reported, 3),
            "coverage": coverage_counts(transcript.coverage),
        },
    )
    if transcript.coverage.get("unrecovered_s", 0.0) >= UNRECOVERED_WARNING_S:
        log.warning(
            "voiced audio left without words",
            extra={"recording_id": str(rec.id), "unrecovered": transcript.coverage["unrecovered"]},
        )


async def _load_audio(
    storage: StorageProvider, key: str, workdir: Path, channel: Channel
) -> PcmFile:
    """The recording's audio (``channel`` of it) as a PCM file in ``workdir``; the download is
    removed once decoded."""
    download = workdir / "audio"
    await asyncio.to_thread(storage.download, key, download)
    pcm = await asyncio.to_thread(decode_to_file, download, workdir / "audio.f32", channel=channel)
    await asyncio.to_thread(download.unlink)
    return pcm
