"""The jobs API for a clinic's admins: ``GET /admin/jobs`` lists the clinic's jobs and
``POST /admin/jobs/{id}/retry`` queues a dead one again.

Jobs are seeded with their recordings (tests/seeded_audio.py) so that none is runnable: a
dispatcher of the same test session must not take them up under the test. A retried job is
runnable, so what it shows after the retry is read from the retry's own answer.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import update

from db.models import AudioRecording, Job, RecordingStatus
from db.session import Sessions, tenant_session
from fluently.storage import StorageProvider
from tests.seeded_audio import stored_recording, tenant_of
from tests.support import FIXTURES, Account, add_user, error_code, log_in, sign_up, upload


async def queued_recording(sessions: Sessions, storage: StorageProvider, admin: Account) -> str:
    """A recording whose processing job is queued for tomorrow."""
    return await stored_recording(
        sessions,
        storage,
        admin,
        FIXTURES / "jfk.ogg",
        status=RecordingStatus.pending,
        queued_job=True,
    )


async def kill_job_of(sessions: Sessions, admin: Account, recording_id: str) -> None:
    """As the dispatcher leaves it after the last attempt: job dead, recording failed."""
    async with tenant_session(sessions, tenant_of(admin)) as session:
        await session.execute(
            update(Job)
            .where(Job.recording_id == uuid.UUID(recording_id))
            .values(status="dead", attempts=3, last_error="RuntimeError: decoder crashed")
        )
        await session.execute(
            update(AudioRecording)
            .where(AudioRecording.id == uuid.UUID(recording_id))
            .values(status="failed", error="processing failed after 3 attempts")
        )


async def jobs_of(client: httpx.AsyncClient, admin: Account, query: str = "") -> list[Any]:
    response = await client.get(f"/admin/jobs?limit=200{query}", headers=admin.auth)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


class TestListingAccess:
    async def test_without_a_token_it_is_401(self, visitor: httpx.AsyncClient) -> None:
        assert (await visitor.get("/admin/jobs")).status_code == 401

    async def test_members_get_403(self, visitor: httpx.AsyncClient) -> None:
        admin = await sign_up(visitor)
        member = await log_in(visitor, await add_user(visitor, admin))
        response = await visitor.get("/admin/jobs", headers=member.auth)
        assert response.status_code == 403
        assert error_code(response) == "forbidden"

    async def test_an_admin_sees_their_clinic_only(
        self, visitor: httpx.AsyncClient, sessions: Sessions, storage: StorageProvider
    ) -> None:
        admin, other = await sign_up(visitor), await sign_up(visitor)
        mine = await queued_recording(sessions, storage, admin)
        await queued_recording(sessions, storage, other)
        assert [job["recording_id"] for job in await jobs_of(visitor, admin)] == [mine]


class TestListing:
    async def test_items_newest_first_in_pages_with_what_an_operator_needs(
        self, visitor: httpx.AsyncClient, sessions: Sessions, storage: StorageProvider
    ) -> None:
        admin = await sign_up(visitor)
        recordings = [await queued_recording(sessions, storage, admin) for _ in range(3)]
        everything = await jobs_of(visitor, admin)
        assert [job["recording_id"] for job in everything] == recordings[::-1]
        assert set(everything[0]) == {
            "id",
            "kind",
            "queue",
            "status",
            "attempts",
            "max_attempts",
            "last_error",
            "recording_id",
            "created_at",
            "updated_at",
            "run_at",
        }
        assert everything[0]["kind"] == "process_recording"
        assert everything[0]["status"] == "queued"
        seen: list[int] = []
        cursor = None
        while True:
            query = "/admin/jobs?limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = (await visitor.get(query, headers=admin.auth)).json()
            seen += [job["id"] for job in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [job["id"] for job in everything]

    async def test_status_and_queue_keep_one_kind(
        self, visitor: httpx.AsyncClient, sessions: Sessions, storage: StorageProvider
    ) -> None:
        admin = await sign_up(visitor)
        dead = await queued_recording(sessions, storage, admin)
        await queued_recording(sessions, storage, admin)
        await kill_job_of(sessions, admin, dead)
        assert [j["recording_id"] for j in await jobs_of(visitor, admin, "&status=dead")] == [dead]
        assert len(await jobs_of(visitor, admin, "&queue=default")) == 2
        assert await jobs_of(visitor, admin, "&queue=low") == []
        assert await jobs_of(visitor, admin, "&status=dead&queue=critical") == []

    async def test_a_short_upload_is_processed_from_the_critical_queue(
        self, visitor: httpx.AsyncClient
    ) -> None:
        admin = await sign_up(visitor)
        response = await upload(visitor, admin.auth, FIXTURES / "jfk.ogg")
        assert response.status_code == 202, response.text
        [job] = await jobs_of(visitor, admin)
        assert (job["recording_id"], job["queue"]) == (response.json()["recording_id"], "critical")

    async def test_bad_status_queue_limit_or_cursor_is_refused(
        self, visitor: httpx.AsyncClient
    ) -> None:
        admin = await sign_up(visitor)
        for query, status, code in (
            ("status=exploded", 422, "validation_error"),
            ("queue=urgent", 422, "validation_error"),
            ("limit=0", 422, "validation_error"),
            ("limit=201", 422, "validation_error"),
            ("cursor=abc", 400, "invalid_cursor"),
            ("page=2", 422, "unknown_query_parameter"),
        ):
            response = await visitor.get(f"/admin/jobs?{query}", headers=admin.auth)
            assert response.status_code == status, (query, response.text)
            assert error_code(response) == code, query


class TestRetry:
    async def test_without_a_token_it_is_401(self, visitor: httpx.AsyncClient) -> None:
        assert (await visitor.post("/admin/jobs/1/retry")).status_code == 401

    async def test_members_get_403(
        self, visitor: httpx.AsyncClient, sessions: Sessions, storage: StorageProvider
    ) -> None:
        admin = await sign_up(visitor)
        member = await log_in(visitor, await add_user(visitor, admin))
        recording = await queued_recording(sessions, storage, admin)
        await kill_job_of(sessions, admin, recording)
        [job] = await jobs_of(visitor, admin)
        response = await visitor.post(f"/admin/jobs/{job['id']}/retry", headers=member.auth)
        assert response.status_code == 403
        assert [j["status"] for j in await jobs_of(visitor, admin)] == ["dead"]

    async def test_another_clinics_job_or_an_unknown_one_is_404(
        self, visitor: httpx.AsyncClient, sessions: Sessions, storage: StorageProvider
    ) -> None:
        admin, other = await sign_up(visitor), await sign_up(visitor)
        recording = await queued_recording(sessions, storage, other)
        await kill_job_of(sessions, other, recording)
        [theirs] = await jobs_of(visitor, other)
        for job_id in (theirs["id"], 2**63 - 1):
            response = await visitor.post(f"/admin/jobs/{job_id}/retry", headers=admin.auth)
            assert response.status_code == 404, response.text
            assert error_code(response) == "not_found"
        assert [j["status"] for j in await jobs_of(visitor, other)] == ["dead"]

    async def test_a_job_that_is_not_dead_is_409(
        self, visitor: httpx.AsyncClient, sessions: Sessions, storage: StorageProvider
    ) -> None:
        admin = await sign_up(visitor)
        await queued_recording(sessions, storage, admin)
        [job] = await jobs_of(visitor, admin)
        response = await visitor.post(f"/admin/jobs/{job['id']}/retry", headers=admin.auth)
        assert response.status_code == 409
        assert error_code(response) == "job_not_dead"

    async def test_a_dead_job_is_queued_again_its_recording_pending_and_audited(
        self, visitor: httpx.AsyncClient, sessions: Sessions, storage: StorageProvider
    ) -> None:
        admin = await sign_up(visitor)
        recording = await queued_recording(sessions, storage, admin)
        await kill_job_of(sessions, admin, recording)
        [job] = await jobs_of(visitor, admin)
        response = await visitor.post(f"/admin/jobs/{job['id']}/retry", headers=admin.auth)
        assert response.status_code == 200, response.text
        retried = response.json()
        assert (retried["id"], retried["status"], retried["attempts"]) == (job["id"], "queued", 0)
        assert retried["last_error"] == "RuntimeError: decoder crashed"
        assert retried["run_at"] < job["run_at"]  # runnable now, not tomorrow
        shown = (await visitor.get(f"/audio_recordings/{recording}", headers=admin.auth)).json()
        assert shown["status"] != "failed"
        again = await visitor.post(f"/admin/jobs/{job['id']}/retry", headers=admin.auth)
        assert again.status_code == 409
        audit = await visitor.get("/audit_events?action=job_retried", headers=admin.auth)
        [entry] = audit.json()["items"]
        assert (entry["actor_id"], entry["target_type"], entry["target_id"]) == (
            admin.user["id"],
            "job",
            str(job["id"]),
        )
