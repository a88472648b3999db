"""The dispatcher: claims durable jobs from Postgres and runs the recording pipeline.

Postgres is the source of truth and Ray is compute: a job is a row, claimed with SKIP LOCKED
and a lease this replica keeps extending while it works. If the replica dies the lease runs out
and any replica claims the job again; results are written in the same transaction that marks
the job done, and only while this worker still holds the lease, so a recording never gets two
transcripts. A ``LISTEN fluently_jobs`` connection wakes the loop the moment a job is queued;
polling every ``jobs.poll_interval_s`` covers a lost notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import psycopg

from db.models import JobStatus, RecordingStatus
from db.repositories import jobs, recordings
from db.repositories.jobs import ClaimedJob
from db.session import (
    Sessions,
    TenantId,
    libpq_url,
    make_engine,
    make_sessions,
    system_session,
    tenant_session,
)
from deployments.fallback import FallbackTranscriber
from deployments.languages import for_backend
from deployments.providers import remote_transcribers
from deployments.transcriber import (
    SAMPLE_RATE,
    BackendRejected,
    BackendUnavailable,
    Transcriber,
)
from fluently.logging import configure_logging, get_logger, tenant_id_var
from fluently.settings import Settings
from fluently.storage import StorageProvider, make_storage
from pipelines.audio import decode
from pipelines.transcription import TranscribeChunk, transcribe_chunked
from pipelines.types import ChunkTranscript, TranscriptionOptions

log = get_logger("dispatcher")
JOBS_CHANNEL = "fluently_jobs"
_LISTS = ("unrecovered", "sounds")
"""Coverage entries that are lists of spans: the log line counts them."""
UNRECOVERED_WARNING_S = 5.0
"""Voiced audio still without words after the coverage repairs that an operator should see:
noise or music reads as voiced for a second or two, a lost sentence for more."""


class ReportWriter(Protocol):
    async def __call__(
        self, *, transcript: dict[str, Any], duration_s: float, report_type: str, language: str
    ) -> dict[str, Any]: ...


class LeaseLost(Exception):
    """Another worker holds this job now; drop the work without writing anything."""


@dataclass
class RecordingPipeline:
    """Download → decode → chunk → fan out → merge → report → persist, for one recording."""

    settings: Settings
    sessions: Sessions
    storage: StorageProvider
    transcribe_chunk: TranscribeChunk
    write_report: ReportWriter

    async def run(self, job: ClaimedJob, *, worker: str) -> None:
        assert job.recording_id is not None
        tenant = job.tenant_id
        async with tenant_session(self.sessions, tenant) as session:
            rec = await recordings.load_for_processing(
                session, tenant_id=tenant, recording_id=job.recording_id
            )
            if rec is None:
                log.info("recording deleted before processing", extra={"job_id": job.id})
                await jobs.complete(session, job_id=job.id, worker=worker)
                return
            await recordings.set_progress(
                session,
                recording_id=rec.id,
                status=RecordingStatus.processing,
                chunks_done=0,
                chunks_total=0,
            )
        started = time.perf_counter()
        audio = await self._load_audio(rec.storage_key)
        duration_s = len(audio) / SAMPLE_RATE
        loaded = time.perf_counter()

        async def progress(done: int, total: int) -> None:
            await self._progress(tenant, rec.id, done=done, total=total)

        pipeline = self.settings.pipeline
        merged = await transcribe_chunked(
            audio,
            TranscriptionOptions(language=for_backend(rec.language)),
            self.transcribe_chunk,
            target_s=pipeline.chunk_target_s,
            max_s=pipeline.chunk_max_s,
            overlap_s=pipeline.chunk_overlap_s,
            progress=progress,
        )
        transcript = merged.to_dict()
        transcribed = time.perf_counter()
        report = await self.write_report(
            transcript=transcript,
            duration_s=duration_s,
            report_type=rec.report_type,
            language=rec.report_language,
        )
        reported = time.perf_counter()
        async with tenant_session(self.sessions, tenant) as session:
            if not await jobs.complete(session, job_id=job.id, worker=worker):
                raise LeaseLost(f"job {job.id} was reclaimed by another worker")
            await recordings.store_results(
                session,
                tenant_id=tenant,
                recording_id=rec.id,
                transcript=transcript,
                report=report,
            )
        log.info(
            "recording processed",
            extra={
                "recording_id": str(rec.id),
                "chunks": len(merged.chunks),
                "duration_s": duration_s,
                "load_s": round(loaded - started, 3),
                "transcribe_s": round(transcribed - loaded, 3),
                "report_s": round(reported - transcribed, 3),
                "store_s": round(time.perf_counter() - reported, 3),
                "coverage": {
                    **{k: v for k, v in merged.coverage.items() if k not in _LISTS},
                    "sounds": len(merged.coverage.get("sounds", ())),
                },
            },
        )
        if merged.coverage.get("unrecovered_s", 0.0) >= UNRECOVERED_WARNING_S:
            log.warning(
                "voiced audio left without words",
                extra={"recording_id": str(rec.id), "unrecovered": merged.coverage["unrecovered"]},
            )

    async def _load_audio(self, key: str) -> np.ndarray:
        tmp_dir = self.settings.data_dir / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=tmp_dir) as workdir:
            path = Path(workdir) / "audio"
            await asyncio.to_thread(self.storage.download, key, path)
            return await asyncio.to_thread(decode, path)

    async def _progress(
        self, tenant: TenantId, recording_id: uuid.UUID, *, done: int, total: int
    ) -> None:
        async with tenant_session(self.sessions, tenant) as session:
            await recordings.set_progress(
                session,
                recording_id=recording_id,
                status=RecordingStatus.processing,
                chunks_done=done,
                chunks_total=total,
            )


class Dispatcher:
    """Claims and runs jobs; ``jobs.concurrency`` at a time per replica."""

    def __init__(
        self,
        settings: Settings,
        *,
        transcribe_chunk: TranscribeChunk,
        write_report: ReportWriter,
        storage: StorageProvider | None = None,
    ) -> None:
        assert settings.database_url is not None
        self.settings = settings
        self._url = settings.database_url.get_secret_value()
        self._engine = make_engine(self._url, pool_size=settings.jobs.concurrency + 2)
        self.sessions = make_sessions(self._engine)
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.pipeline = RecordingPipeline(
            settings=settings,
            sessions=self.sessions,
            storage=storage or make_storage(settings),
            transcribe_chunk=transcribe_chunk,
            write_report=write_report,
        )
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.create_task(self._run())
        self._listener = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        for task in (self._loop, self._listener, *self._tasks):
            if task is not None:
                task.cancel()
        for task in (self._loop, self._listener, *self._tasks):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self._engine.dispose()

    def healthy(self) -> bool:
        return self._loop is not None and not self._loop.done()

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    libpq_url(self._url), autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {JOBS_CHANNEL}")
                    self._wake.set()
                    async for _ in conn.notifies():
                        self._wake.set()
            except psycopg.OperationalError:
                log.warning("job listener lost its connection; reconnecting")
                await asyncio.sleep(1)

    async def _run(self) -> None:
        slots = asyncio.Semaphore(self.settings.jobs.concurrency)
        while True:
            await slots.acquire()
            try:
                async with system_session(self.sessions) as session:
                    job = await jobs.claim(
                        session, worker=self.worker, lease_s=self.settings.jobs.lease_s
                    )
            except Exception:
                slots.release()
                log.exception("claiming a job failed")
                await asyncio.sleep(self.settings.jobs.poll_interval_s)
                continue
            if job is None:
                slots.release()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._wake.wait(), timeout=self.settings.jobs.poll_interval_s
                    )
                continue
            task = asyncio.create_task(self._execute(job))
            self._tasks.add(task)

            def finished(t: asyncio.Task[None]) -> None:
                self._tasks.discard(t)
                slots.release()

            task.add_done_callback(finished)

    async def _execute(self, job: ClaimedJob) -> None:
        token = tenant_id_var.set(str(job.tenant_id))
        extra = {"job_id": job.id, "attempt": job.attempts, "recording_id": str(job.recording_id)}
        try:
            if job.attempts > job.max_attempts:
                await self._give_up(job, "the job kept losing its worker (lease expired)")
                return
            log.info("job started", extra=extra)
            work = asyncio.create_task(self._dispatch(job))
            heartbeat = asyncio.create_task(self._heartbeat(job, work))
            try:
                await work
            finally:
                heartbeat.cancel()
            log.info("job done", extra=extra)
        except LeaseLost:
            log.warning("lease lost; leaving the job to its new worker", extra=extra)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("job failed", extra=extra)
            await self._failed(job, f"{type(exc).__name__}: {exc}")
        finally:
            tenant_id_var.reset(token)

    async def _dispatch(self, job: ClaimedJob) -> None:
        if job.kind != jobs.PROCESS_RECORDING:
            raise ValueError(f"unknown job kind {job.kind!r}")
        await self.pipeline.run(job, worker=self.worker)

    async def _heartbeat(self, job: ClaimedJob, work: asyncio.Task[None]) -> None:
        while not work.done():
            await asyncio.sleep(self.settings.jobs.heartbeat_s)
            async with tenant_session(self.sessions, job.tenant_id) as session:
                kept = await jobs.extend_lease(
                    session, job_id=job.id, worker=self.worker, lease_s=self.settings.jobs.lease_s
                )
            if not kept:
                work.cancel()
                return

    async def _failed(self, job: ClaimedJob, error: str) -> None:
        async with tenant_session(self.sessions, job.tenant_id) as session:
            status = await jobs.fail(
                session,
                job=job,
                worker=self.worker,
                error=error,
                base_s=self.settings.jobs.backoff_base_s,
                max_s=self.settings.jobs.backoff_max_s,
            )
            if status is JobStatus.dead and job.recording_id is not None:
                await recordings.mark_failed(
                    session,
                    recording_id=job.recording_id,
                    error=f"processing failed after {job.attempts} attempts: {error}",
                )

    async def _give_up(self, job: ClaimedJob, error: str) -> None:
        async with tenant_session(self.sessions, job.tenant_id) as session:
            await jobs.mark_dead(session, job_id=job.id, error=error)
            if job.recording_id is not None:
                await recordings.mark_failed(
                    session, recording_id=job.recording_id, error=f"processing failed: {error}"
                )


class ChunkRouter:
    """Sends a chunk to the remote backends in order of preference (each behind its retries and
    circuit breaker, inside ``FallbackTranscriber``), and to the local model when all fail."""

    def __init__(self, remotes: Sequence[Transcriber], local: TranscribeChunk) -> None:
        self._remote = FallbackTranscriber(remotes) if remotes else None
        self._local = local

    async def __call__(self, audio: np.ndarray, options: TranscriptionOptions) -> ChunkTranscript:
        if self._remote is not None:
            try:
                return await asyncio.to_thread(self._remote.transcribe, audio, options)
            except (BackendUnavailable, BackendRejected) as exc:
                log.warning(
                    "remote backends failed; using the local model", extra={"error": str(exc)}
                )
        return await self._local(audio, options)


class DispatcherDeployment:
    """Serve face of the dispatcher; the local model and the report are other deployments."""

    # Serve awaits an async constructor, so the dispatch loop starts on the replica's loop.
    async def __init__(  # type: ignore[misc]
        self, settings: Settings, transcriber: Any, reporter: Any
    ) -> None:
        configure_logging(settings.log_level)
        self._transcriber = transcriber
        self._reporter = reporter
        router = ChunkRouter(remote_transcribers(settings), self._transcribe_locally)
        self._dispatcher = Dispatcher(
            settings, transcribe_chunk=router, write_report=self._write_report
        )
        self._dispatcher.start()

    async def _transcribe_locally(
        self, audio: np.ndarray, options: TranscriptionOptions
    ) -> ChunkTranscript:
        result: ChunkTranscript = await self._transcriber.transcribe.remote(audio, options)
        return result

    async def _write_report(
        self, *, transcript: dict[str, Any], duration_s: float, report_type: str, language: str
    ) -> dict[str, Any]:
        report: dict[str, Any] = await self._reporter.generate.remote(
            transcript=transcript,
            duration_s=duration_s,
            report_type=report_type,
            language=language,
        )
        return report

    def check_health(self) -> None:
        if not self._dispatcher.healthy():
            raise RuntimeError("the dispatch loop stopped")

    async def __del__(self) -> None:
        await self._dispatcher.stop()
