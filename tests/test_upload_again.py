"""The same bytes uploaded again: a retry gets the recording back, one that asks for other
options is refused rather than silently given the old ones, and a failed one is processed again."""

from __future__ import annotations

import uuid

import httpx
import psycopg

from db.models import RecordingStatus
from db.repositories import jobs
from db.session import Sessions, TenantId, tenant_session
from fluently.settings import Settings
from fluently.storage import StorageProvider
from tests.seeded_audio import storage_key, stored_recording
from tests.support import FIXTURES, Account, error_code, sign_up, stored_state, upload

AUDIO = FIXTURES / "jfk.opus"


async def test_a_retry_gets_the_recording_back_and_other_options_are_refused(
    client: httpx.AsyncClient, settings: Settings, superuser_conninfo: str
) -> None:
    account = await sign_up(client)
    first = await upload(client, account.auth, AUDIO, report_language="en")
    assert first.status_code == 202, first.text
    recording_id = first.json()["recording_id"]
    for same in (
        {},
        {"report_language": "en"},
        {"language": "en", "report_type": ""},
        {"recorded_at": "2026-01-01T10:00:00+00:00"},  # a reloaded form's "now"
    ):
        again = await upload(client, account.auth, AUDIO, **same)
        assert (again.status_code, again.json()["recording_id"]) == (200, recording_id), same
    before = stored_state(superuser_conninfo, settings)
    other = await upload(client, account.auth, AUDIO, report_language="pt", task="reading")
    assert other.status_code == 409
    assert error_code(other) == "duplicate_recording"
    message = other.json()["error"]["message"]
    assert recording_id in message and "report_language is en" in message
    assert f"/audio_recordings/{recording_id}/reports" in message
    assert other.headers["location"] == f"/audio_recordings/{recording_id}"
    assert stored_state(superuser_conninfo, settings) == before


async def failed_recording(sessions: Sessions, storage: StorageProvider, account: Account) -> str:
    """A recording of ``AUDIO``'s bytes whose processing failed: its job is dead."""
    recording_id = await stored_recording(
        sessions, storage, account, AUDIO, status=RecordingStatus.failed, sha256_of_audio=True
    )
    tenant_id = TenantId(uuid.UUID(account.user["tenant_id"]))
    async with tenant_session(sessions, tenant_id) as session:
        job = await jobs.enqueue(
            session,
            tenant_id=tenant_id,
            recording_id=uuid.UUID(recording_id),
            kind=jobs.PROCESS_RECORDING,
            max_attempts=1,
        )
        await jobs.mark_dead(session, job_id=job.id, error="KeyError: the test's")
    return recording_id


def job_and_recording(superuser_conninfo: str, recording_id: str) -> tuple[object, ...]:
    with psycopg.connect(superuser_conninfo) as conn:
        row = conn.execute(
            "SELECT j.status, j.attempts, r.error, r.audio_deleted_at FROM jobs j "
            "JOIN audio_recordings r ON r.id = j.recording_id WHERE r.id = %s",
            (recording_id,),
        ).fetchone()
    assert row is not None
    return tuple(row)


async def test_a_failed_recording_uploaded_again_is_processed_again(
    client: httpx.AsyncClient,
    sessions: Sessions,
    storage: StorageProvider,
    superuser_conninfo: str,
    settings: Settings,
) -> None:
    account = await sign_up(client)
    recording_id = await failed_recording(sessions, storage, account)
    before = stored_state(superuser_conninfo, settings)
    again = await upload(client, account.auth, AUDIO)
    assert again.status_code == 202, again.text
    assert again.json() == {"recording_id": recording_id, "status": "pending"}
    status, attempts, error, _ = job_and_recording(superuser_conninfo, recording_id)
    # A worker of the session's platform may already have claimed it.
    assert status != "dead" and error is None, (status, attempts)
    assert stored_state(superuser_conninfo, settings) == before


async def test_audio_that_retention_removed_is_stored_again(
    client: httpx.AsyncClient,
    sessions: Sessions,
    storage: StorageProvider,
    superuser_conninfo: str,
) -> None:
    account = await sign_up(client)
    recording_id = await failed_recording(sessions, storage, account)
    key = await storage_key(sessions, account, recording_id)
    storage.delete(key)
    with psycopg.connect(superuser_conninfo) as conn:
        conn.execute(
            "UPDATE audio_recordings SET audio_deleted_at = now() WHERE id = %s", (recording_id,)
        )
    again = await upload(client, account.auth, AUDIO)
    assert again.status_code == 202, again.text
    assert job_and_recording(superuser_conninfo, recording_id)[3] is None
    audio = await client.get(f"/audio_recordings/{recording_id}/audio", headers=account.auth)
    assert audio.status_code == 200
    assert audio.content == AUDIO.read_bytes()
