"""Audio retention: the ``apply_retention`` job deletes a clinic's audio older than its
``audio_retention_days``; transcripts, annotations and reports stay, and the recording shows
``audio_deleted_at``.

Age counts from the upload (``created_at``), not the session's ``recorded_at``: the upload is
when the platform started holding the audio, and an old session uploaded today is kept the
full period rather than deleted at the next run. Recordings still being processed are skipped.

The schedule lives in Postgres (``scheduled_tasks``): every job loop asks
``fluently_schedule_due`` at each poll, and whichever replica finds the daily task due first
enqueues one job per clinic with a period set; the rest find it no longer due. A restart
changes nothing, since the next run time is a row.

Objects go before rows: storage deletes first, then ``audio_deleted_at`` is set in the same
transaction that holds the rows locked. A crash in between leaves rows that still claim audio
already gone, which the next run deletes again (a missing object is no error); the other order
could leave audio that the database says is deleted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from db.repositories import audit, jobs, retention
from db.repositories.jobs import ClaimedJob
from db.session import Sessions, tenant_session
from deployments.job_loop import JobLoop, LeaseLost
from fluently.logging import get_logger
from fluently.storage import StorageProvider

log = get_logger("retention")

APPLY_RETENTION = "apply_retention"
"""The job kind ``fluently_schedule_due`` enqueues for the ``audio_retention`` task."""
BATCH_SIZE = 200


def utc_now() -> datetime:
    return datetime.now(UTC)


class AudioRetention:
    """Runs one clinic's ``apply_retention`` job, in batches of ``batch_size`` recordings."""

    def __init__(
        self,
        sessions: Sessions,
        storage: StorageProvider,
        *,
        worker: str,
        batch_size: int = BATCH_SIZE,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._sessions = sessions
        self._storage = storage
        self._worker = worker
        self._batch_size = batch_size
        self._clock = clock

    async def __call__(self, job: ClaimedJob) -> None:
        """Delete the clinic's due audio, then mark the job done; raises ``LeaseLost`` (and
        writes nothing more) when another worker took the job over."""
        now = self._clock()
        deleted = 0
        while True:
            async with tenant_session(self._sessions, job.tenant_id) as session:
                tenant = await retention.tenant(session, tenant_id=job.tenant_id)
                days = None if tenant is None else tenant.audio_retention_days
                due = []
                if days is not None:
                    due = await retention.audio_due(
                        session,
                        tenant_id=job.tenant_id,
                        uploaded_before=now - timedelta(days=days),
                        limit=self._batch_size,
                    )
                if not due:
                    if not await jobs.complete(session, job_id=job.id, worker=self._worker):
                        raise LeaseLost(f"job {job.id} was reclaimed by another worker")
                    log.info("audio retention applied", extra={"recordings": deleted})
                    return
                for _, key in due:
                    await asyncio.to_thread(self._storage.delete, key)
                ids = [recording_id for recording_id, _ in due]
                await retention.mark_audio_deleted(session, recording_ids=ids, at=now)
                for recording_id in ids:
                    await audit.append(
                        session,
                        tenant_id=job.tenant_id,
                        actor_id=None,
                        action=audit.Action.audio_retention_applied,
                        target_type="recording",
                        target_id=str(recording_id),
                        details={"audio_retention_days": days},
                    )
                deleted += len(ids)


def install(loop: JobLoop) -> None:
    """Run ``apply_retention`` jobs on ``loop`` and let it enqueue them when the daily
    ``audio_retention`` task falls due."""
    loop.register(APPLY_RETENTION, AudioRetention(loop.sessions, loop.storage, worker=loop.worker))
    loop.schedule(retention.AUDIO_RETENTION_TASK, kind=APPLY_RETENTION)
