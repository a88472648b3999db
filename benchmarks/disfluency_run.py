"""One labelled clip through the platform's own path: decode, chunk, transcribe with the local
model, check coverage, then the report generator's metrics. Shared by ``disfluency.py`` and the
regression test, so both measure the same thing."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

import ctranslate2
import numpy as np

from deployments.local_whisper import LocalWhisperConfig, LocalWhisperTranscriber
from deployments.report_generator import ReportGenerator
from fluently.settings import PipelineSettings
from pipelines.audio import decode
from pipelines.transcription import transcribe_chunked
from pipelines.types import (
    SAMPLE_RATE,
    AudioArray,
    ChunkTranscript,
    Span,
    Transcript,
    TranscriptionOptions,
)


def run_clip(
    path: Path,
    transcriber: LocalWhisperTranscriber,
    reporter: ReportGenerator,
    *,
    background: Background | None = None,
) -> tuple[Transcript, dict[str, Any], float]:
    """The platform's transcript and metrics for one file, and the seconds they took; with
    ``background`` under it."""
    started = time.perf_counter()
    audio = decode(path)
    if background is not None:
        audio = background.under(audio, seed=zlib.crc32(path.name.encode()))
    transcript, metrics = run_audio(audio, transcriber, reporter)
    return transcript, metrics, time.perf_counter() - started


def run_audio(
    audio: AudioArray, transcriber: LocalWhisperTranscriber, reporter: ReportGenerator
) -> tuple[Transcript, dict[str, Any]]:
    """The platform's transcript and metrics for one recording's samples."""
    pipeline = PipelineSettings()

    async def transcribe_chunk(audio: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        return await asyncio.to_thread(transcriber.transcribe, audio, options)

    # Disfluent speech often sends whisper into its temperature fallback, which samples.
    # CTranslate2 seeds a thread's generator once, at its first sampling, from the seed set
    # then: with it fixed, the same clips decoded in the same order give the same transcripts.
    ctranslate2.set_random_seed(0)
    merged = asyncio.run(
        transcribe_chunked(
            audio,
            TranscriptionOptions(language="en"),
            transcribe_chunk,
            target_s=pipeline.chunk_target_s,
            max_s=pipeline.chunk_max_s,
            overlap_s=pipeline.chunk_overlap_s,
            spread=pipeline.spread,
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
    return transcript, report.metrics


def joined_clips(paths: Sequence[Path], gap_s: float) -> tuple[AudioArray, list[Span]]:
    """The clips of ``paths`` laid end to end with ``gap_s`` of silence between them, as one
    recording, and where each lies in it (start and length, in seconds)."""
    gap = np.zeros(round(gap_s * SAMPLE_RATE), dtype=np.float32)
    pieces: list[AudioArray] = []
    clips: list[Span] = []
    at = 0
    for path in paths:
        audio = decode(path)
        clips.append((at / SAMPLE_RATE, len(audio) / SAMPLE_RATE))
        pieces += [audio, gap]
        at += len(audio) + len(gap)
    return np.concatenate(pieces[:-1]) if pieces else gap[:0], clips


def run_session(
    paths: Sequence[Path],
    config: LocalWhisperConfig,
    gap_s: float,
    *,
    background: Background | None = None,
) -> tuple[Run, list[Span]]:
    """The clips of ``paths`` joined into one recording (``joined_clips``), as a clinician
    records a session, through the platform's path at once: chunked, its windows decoded
    together, the second pass's stretches packed. Its transcript, metrics and seconds, and
    where each clip lies in it."""
    started = time.perf_counter()
    audio, clips = joined_clips(paths, gap_s)
    if background is not None:
        audio = background.under(audio, seed=zlib.crc32(b"session"))
    transcriber = LocalWhisperTranscriber(config)
    transcript, metrics = run_audio(audio, transcriber, ReportGenerator(chat_clients=()))
    return (transcript, metrics, time.perf_counter() - started), clips


@dataclass(frozen=True)
class Background:
    """What a recording has under the speech and the synthetic clips do not: white noise of
    RMS ``noise_dbfs`` dB of full scale, a mains hum ``hum_db`` dB under the clip's speech."""

    noise_dbfs: float | None = None
    hum_db: float | None = None

    def under(self, audio: AudioArray, *, seed: int) -> AudioArray:
        """``audio`` with this background (the noise the same for the same ``seed``)."""
        if self.hum_db is not None:
            audio = with_hum(audio, self.hum_db)
        if self.noise_dbfs is not None:
            audio = with_noise(audio, self.noise_dbfs, seed=seed)
        return audio


HUM_HZ = (50.0, 150.0)
"""Mains at 50 Hz and its third harmonic: what a badly earthed lead picks up."""


def with_hum(audio: AudioArray, db_under: float, hertz: Sequence[float] = HUM_HZ) -> AudioArray:
    """``audio`` over a hum of tones at ``hertz`` (the n-th at 1/n the amplitude of the first)
    whose RMS is ``db_under`` dB under that of the speech (the samples above -60 dBFS)."""
    said = audio[np.abs(audio) > 1e-3].astype(np.float64)
    if not said.size:
        return audio
    t = np.arange(len(audio)) / SAMPLE_RATE
    hum = np.asarray(sum(np.sin(2 * np.pi * hz * t + n) / (n + 1) for n, hz in enumerate(hertz)))
    level = float(np.sqrt(np.mean(said**2))) * 10 ** (-db_under / 20)
    hummed: AudioArray = (audio + hum * level / float(np.sqrt(np.mean(hum**2)))).astype(np.float32)
    return hummed


def with_noise(audio: AudioArray, dbfs: float, *, seed: int) -> AudioArray:
    """``audio`` over Gaussian white noise whose RMS is ``dbfs`` dB of full scale, the same for
    the same seed: a room's noise floor under the synthetic clips' digital silence."""
    noise = np.random.default_rng(seed).standard_normal(len(audio)) * 10 ** (dbfs / 20)
    noisy: AudioArray = (audio + noise).astype(np.float32)
    return noisy


Run = tuple[Transcript, dict[str, Any], float]
T = TypeVar("T")
R = TypeVar("R")


def run_corpus(
    paths: Sequence[Path],
    config: LocalWhisperConfig,
    *,
    processes: int = 1,
    background: Background | None = None,
) -> list[Run]:
    """``run_clip`` for every file of ``paths``, results in their order, in ``processes``
    processes (``map_in_shares``)."""
    share = partial(_run_share, config=config, background=background)
    return map_in_shares(share, list(paths), processes)


def map_in_shares(
    run_share: Callable[[list[T]], list[R]], items: Sequence[T], processes: int
) -> list[R]:
    """``run_share`` over ``items`` dealt out in fixed shares (every n-th item), each share run
    in order by a spawned process of its own; the results come back in the items' order.

    The per-clip analysis around the model (VAD, levels, repeats, the report) runs on one core,
    so two processes keep two cores busy; and a rerun decodes each item after the same ones as
    before, with the same sampling state, as one process does. ``run_share`` must be picklable
    (a module-level function, or a ``partial`` of one).
    """
    if processes <= 1:
        return run_share(list(items))
    shares = [list(items[i::processes]) for i in range(processes)]
    with ProcessPoolExecutor(len(shares), mp_context=get_context("spawn")) as pool:
        done = list(pool.map(run_share, shares))
    return [done[k % processes][k // processes] for k in range(len(items))]


def map_fresh(run: Callable[[T], R], items: Sequence[T], processes: int) -> list[R]:
    """``run`` over ``items``, each in a spawned process of its own, ``processes`` at a time,
    with CTranslate2 seeded alike before anything is decoded; the results come back in the
    items' order.

    Whisper's temperature fallback samples, and CTranslate2 draws a random seed per process
    unless one is set: raw decoding of ``noise_20db`` under GENERIC made 95 errors in one fresh
    process and 119 in another. Seeded, each item gives what it gives whatever ran before it or
    beside it. ``run`` must be picklable."""
    with ProcessPoolExecutor(
        processes,
        mp_context=get_context("spawn"),
        max_tasks_per_child=1,
        initializer=_seed,
    ) as pool:
        return list(pool.map(run, items))


def _seed() -> None:
    """``map_fresh``'s worker start (a C function cannot be sent to a spawned process)."""
    ctranslate2.set_random_seed(0)


def _run_share(
    paths: Sequence[Path], config: LocalWhisperConfig, background: Background | None = None
) -> list[Run]:
    transcriber = LocalWhisperTranscriber(config)
    reporter = ReportGenerator(chat_clients=())
    return [run_clip(path, transcriber, reporter, background=background) for path in paths]
