"""The job loop: claims durable jobs from Postgres and runs them, each under a lease.

Postgres is the source of truth and Ray is compute: a job is a row, claimed with SKIP LOCKED
and a lease this replica keeps extending while it works. If the replica dies the lease runs out
and any replica claims the job again; results are written in the same transaction that marks
the job done, and only while this worker still holds the lease, so a recording never gets two
transcripts. A ``LISTEN fluently_jobs`` connection wakes the loop the moment a job is queued;
polling every ``jobs.poll_interval_s`` covers a lost notification. At each poll the loop also
asks Postgres whether a scheduled task (``schedule``) is due; the database lets one replica
claim each run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable

from opentelemetry.trace import SpanKind

from db.models import JobStatus, Queue, RecordingStatus
from db.notifications import notifications
from db.repositories import job_stats, jobs, recordings, retention
from db.repositories.jobs import ClaimedJob
from db.session import (
    Sessions,
    libpq_url,
    make_engine,
    make_sessions,
    system_session,
    tenant_session,
)
from deployments.recording_pipeline import RecordingToProcess, ReportWriter, process_recording
from fluently import metrics, tracing
from fluently.logging import get_logger, tenant_id_var
from fluently.settings import Settings
from fluently.storage import StorageProvider, make_storage
from pipelines.audio import Channel
from pipelines.transcription import TranscribeChunk
from pipelines.types import FluencyReport, Transcript

log = get_logger("dispatcher")


class LeaseLost(Exception):
    """Another worker holds this job now; drop the work without writing anything."""


class JobRecordingStore:
    """The recording of one claimed ``process_recording`` job, as the pipeline's store."""

    def __init__(self, sessions: Sessions, job: ClaimedJob, *, worker: str) -> None:
        assert job.recording_id is not None
        self._sessions = sessions
        self._job = job
        self._recording_id = job.recording_id
        self._worker = worker

    async def begin(self) -> RecordingToProcess | None:
        """The recording, marked processing; a deleted one completes the job and gives None."""
        job = self._job
        async with tenant_session(self._sessions, job.tenant_id) as session:
            rec = await recordings.load_for_processing(
                session, tenant_id=job.tenant_id, recording_id=self._recording_id
            )
            if rec is None:
                log.info("recording deleted before processing", extra={"job_id": job.id})
                await jobs.complete(session, job_id=job.id, worker=self._worker)
                return None
            await recordings.set_progress(
                session,
                recording_id=rec.id,
                status=RecordingStatus.processing,
                chunks_done=0,
                chunks_total=0,
            )
        return RecordingToProcess(
            id=rec.id,
            storage_key=rec.storage_key,
            language=rec.language,
            report_type=rec.report_type,
            report_language=rec.report_language,
            channel=Channel(rec.channel),
        )

    async def progress(self, *, done: int, total: int) -> None:
        async with tenant_session(self._sessions, self._job.tenant_id) as session:
            await recordings.set_progress(
                session,
                recording_id=self._recording_id,
                status=RecordingStatus.processing,
                chunks_done=done,
                chunks_total=total,
            )

    async def finish(
        self, *, transcript: Transcript, report: FluencyReport, duration_s: float
    ) -> None:
        """Store the results in the transaction that marks the job done, and only while this
        worker still holds the lease: else raise LeaseLost and write nothing."""
        job = self._job
        async with tenant_session(self._sessions, job.tenant_id) as session:
            if not await jobs.complete(session, job_id=job.id, worker=self._worker):
                raise LeaseLost(f"job {job.id} was reclaimed by another worker")
            await recordings.store_results(
                session,
                tenant_id=job.tenant_id,
                recording_id=self._recording_id,
                transcript=transcript.to_dict(),
                report=report.to_dict(),
                duration_s=duration_s,
            )


JobHandler = Callable[[ClaimedJob], Awaitable[None]]
"""Runs one claimed job of a kind (``JobLoop.register``)."""


class JobLoop:
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
        self._storage = storage or make_storage(settings)
        self._transcribe_chunk = transcribe_chunk
        self._write_report = write_report
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._handlers: dict[str, JobHandler] = {jobs.PROCESS_RECORDING: self._process_recording}
        self._schedules: list[tuple[str, str, Queue]] = []
        self._next_schedule_check = 0.0
        self._next_count = 0.0

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
        async for _ in notifications(
            libpq_url(self._url),
            jobs.CHANNEL,
            log=log,
            lost_message="job listener lost its connection; reconnecting",
        ):
            self._wake.set()

    async def _run(self) -> None:
        slots = asyncio.Semaphore(self.settings.jobs.concurrency)
        while True:
            await self.enqueue_due_tasks()
            await self.count_jobs()
            await slots.acquire()
            try:
                async with system_session(self.sessions) as session:
                    job = await jobs.claim(
                        session,
                        worker=self.worker,
                        lease_s=self.settings.jobs.lease_s,
                        aging_step_s=self.settings.jobs.aging_step_s,
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

    def register(self, kind: str, handler: JobHandler) -> None:
        """Run ``handler`` for claimed jobs of ``kind``; it raises to fail the attempt (retried
        with backoff, dead after ``max_attempts``) and returns when the job is done."""
        self._handlers[kind] = handler

    @property
    def storage(self) -> StorageProvider:
        return self._storage

    def schedule(self, task: str, *, kind: str, queue: Queue = Queue.low) -> None:
        """Enqueue ``kind`` jobs whenever ``task`` (a ``scheduled_tasks`` row) falls due."""
        self._schedules.append((task, kind, queue))

    async def enqueue_due_tasks(self) -> None:
        """At most once per poll interval: claim the scheduled tasks that are due (one replica
        wins each run, ``fluently_schedule_due``) and enqueue their jobs."""
        if not self._schedules or time.monotonic() < self._next_schedule_check:
            return
        self._next_schedule_check = time.monotonic() + self.settings.jobs.poll_interval_s
        try:
            async with system_session(self.sessions) as session:
                for task, kind, queue in self._schedules:
                    enqueued = await retention.schedule_due(
                        session,
                        task=task,
                        kind=kind,
                        queue=queue,
                        max_attempts=self.settings.jobs.max_attempts,
                    )
                    if enqueued:
                        log.info("scheduled task due", extra={"task": task, "jobs": enqueued})
        except Exception:
            log.exception("checking the scheduled tasks failed")

    async def count_jobs(self) -> None:
        """At most once per ``jobs.metrics_interval_s``: the ``fluently_jobs`` gauge, from the
        jobs table, every tenant's together."""
        if time.monotonic() < self._next_count:
            return
        self._next_count = time.monotonic() + self.settings.jobs.metrics_interval_s
        try:
            async with system_session(self.sessions) as session:
                counts = await job_stats.counts(session)
        except Exception:
            log.exception("counting the jobs failed")
            return
        for state in (JobStatus.queued, JobStatus.running, JobStatus.dead):
            for queue in Queue:
                count = counts.get((state.value, queue.value), 0)
                metrics.JOBS.set(count, state=state.value, queue=queue.value)

    async def _dispatch(self, job: ClaimedJob) -> None:
        handler = self._handlers.get(job.kind)
        if handler is None:
            raise ValueError(f"unknown job kind {job.kind!r}")
        async with tenant_session(self.sessions, job.tenant_id) as session:
            claimed = await job_stats.claimed_context(session, job_id=job.id)
        queue = claimed.queue if claimed is not None else "unknown"
        if claimed is not None:
            metrics.JOB_QUEUE_WAIT.observe(claimed.waited_s, queue=queue, kind=job.kind)
        started, outcome = time.perf_counter(), "failed"
        try:
            with tracing.span(
                f"job {job.kind}",
                parent=claimed.traceparent if claimed is not None else None,
                kind=SpanKind.CONSUMER,
                attributes={"fluently.job_id": job.id, "fluently.attempt": job.attempts},
            ):
                await handler(job)
            outcome = "done"
        except (LeaseLost, asyncio.CancelledError):
            outcome = "lease_lost"
            raise
        finally:
            elapsed = time.perf_counter() - started
            metrics.JOB_PROCESSING.observe(elapsed, queue=queue, kind=job.kind, outcome=outcome)

    async def _process_recording(self, job: ClaimedJob) -> None:
        await process_recording(
            JobRecordingStore(self.sessions, job, worker=self.worker),
            storage=self._storage,
            transcribe_chunk=self._transcribe_chunk,
            write_report=self._write_report,
            chunking=self.settings.pipeline,
            tmp_dir=self.settings.data_dir / "tmp",
        )

    async def _heartbeat(self, job: ClaimedJob, work: asyncio.Task[None]) -> None:
        """Keeps the lease while ``work`` runs; cancels it the moment the lease is lost."""
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
            # Other kinds that name a recording (a requested report) fail only themselves.
            if (
                status is JobStatus.dead
                and job.kind == jobs.PROCESS_RECORDING
                and job.recording_id is not None
            ):
                await recordings.mark_failed(
                    session,
                    recording_id=job.recording_id,
                    error=f"processing failed after {job.attempts} attempts: {error}",
                )
                metrics.RECORDINGS_FAILED.inc()

    async def _give_up(self, job: ClaimedJob, error: str) -> None:
        async with tenant_session(self.sessions, job.tenant_id) as session:
            await jobs.mark_dead(session, job_id=job.id, error=error)
            if job.kind == jobs.PROCESS_RECORDING and job.recording_id is not None:
                await recordings.mark_failed(
                    session, recording_id=job.recording_id, error=f"processing failed: {error}"
                )
                metrics.RECORDINGS_FAILED.inc()
