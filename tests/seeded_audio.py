"""Recordings seeded through the repositories with real audio in storage and no runnable job,
for tests of what happens to stored audio (export, erasure, retention, audited reads).

An upload would enqueue its processing, and a dispatcher running in the same test session (the
``platform`` fixture) would take it up and change the recording under the test; these rows are
left alone. Tests import from here and from tests/support.py only.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from db.models import AudioRecording, Job, RecordingStatus
from db.repositories import jobs, recordings
from db.session import Sessions, TenantId, tenant_session
from fluently.storage import StorageProvider
from tests.support import Account


def tenant_of(account: Account) -> TenantId:
    return TenantId(uuid.UUID(account.user["tenant_id"]))


async def stored_recording(
    sessions: Sessions,
    storage: StorageProvider,
    account: Account,
    audio: Path,
    *,
    client_id: str | None = None,
    status: RecordingStatus = RecordingStatus.processed,
    created_at: datetime | None = None,
    queued_job: bool = False,
    sha256_of_audio: bool = False,
) -> str:
    """A recording of ``account``'s whose audio is ``audio``'s bytes, stored as an upload stores
    it. ``queued_job`` adds a processing job that no worker may claim for a day (it stands for
    queued work that must go with the recording). Its ``sha256`` is random, so uploading
    ``audio`` makes another recording, unless ``sha256_of_audio``."""
    tenant_id = tenant_of(account)
    recording_id = uuid.uuid4()
    key = f"{tenant_id}/{recording_id}"
    storage.put_file(key, audio)
    recording = AudioRecording(
        id=recording_id,
        tenant_id=tenant_id,
        user_id=uuid.UUID(account.user["id"]),
        client_id=None if client_id is None else uuid.UUID(client_id),
        filename=audio.name,
        content_type="application/octet-stream",
        storage_key=key,
        sha256=_sha256(audio) if sha256_of_audio else uuid.uuid4().hex * 2,
        size_bytes=_size(audio),
        duration_s=11.0,
        codec="opus",
        status=status.value,
        chunks_done=0,
        chunks_total=0,
        language="en",
        report_type="fluency_analysis",
        report_language="en",
    )
    async with tenant_session(sessions, tenant_id) as session:
        await recordings.create(session, recording=recording)
        if created_at is not None:
            await session.execute(
                update(AudioRecording)
                .where(AudioRecording.id == recording_id)
                .values(created_at=created_at)
            )
        if queued_job:
            job = await jobs.enqueue(
                session,
                tenant_id=tenant_id,
                recording_id=recording_id,
                kind=jobs.PROCESS_RECORDING,
                max_attempts=1,
            )
            await session.execute(
                update(Job)
                .where(Job.id == job.id)
                .values(run_at=datetime.now(UTC) + timedelta(days=1))
            )
    return str(recording_id)


def _size(path: Path) -> int:
    return path.stat().st_size


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def storage_key(sessions: Sessions, account: Account, recording_id: str) -> str:
    async with tenant_session(sessions, tenant_of(account)) as session:
        recording = await session.get(AudioRecording, uuid.UUID(recording_id))
        assert recording is not None
        return recording.storage_key
