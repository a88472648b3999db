"""Audio retention: the clinic's setting (``GET``/``PATCH /tenant``), the ``apply_retention`` job
(with a controllable clock: only old audio goes, transcripts and reports stay), and a schedule
that lives in Postgres, runs once however many job loops ask, and outlives a restart."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import select, update

from db.models import Job, Queue, RecordingStatus, Transcription
from db.repositories import jobs
from db.repositories.jobs import ClaimedJob
from db.session import Sessions, TenantId, tenant_session
from deployments.job_loop import JobLoop
from deployments.retention import APPLY_RETENTION, AudioRetention, install
from fluently.settings import Settings
from fluently.storage import make_storage
from tests.seeded_audio import storage_key, stored_recording, tenant_of
from tests.support import FIXTURES, Account, add_user, error_code, log_in, sign_up

WORKER = "retention-test-worker"
SCHEDULE_CALL = "SELECT fluently_schedule_due(%s, 'apply_retention', 'low', 2, 4)"


async def set_retention(client: httpx.AsyncClient, admin: Account, days: Any) -> httpx.Response:
    return await client.patch("/tenant", headers=admin.auth, json={"audio_retention_days": days})


def make_due(superuser_conninfo: str, task: str = "audio_retention") -> None:
    """Move the task's next run into the past, as if its period went by."""
    with psycopg.connect(superuser_conninfo) as conn:
        conn.execute(
            "INSERT INTO scheduled_tasks (name, period_s) VALUES (%s, 86400) "
            "ON CONFLICT (name) DO UPDATE SET next_run_at = now() - interval '1 second'",
            (task,),
        )


def retention_jobs(superuser_conninfo: str, tenants: list[TenantId]) -> list[tuple[Any, ...]]:
    with psycopg.connect(superuser_conninfo) as conn:
        return conn.execute(
            "SELECT tenant_id, id, queue, priority, payload FROM jobs "
            "WHERE kind = 'apply_retention' AND tenant_id = ANY(%s) ORDER BY id",
            ([str(t) for t in tenants],),
        ).fetchall()


class TestTenantSettings:
    async def test_without_a_token_it_is_401(self, visitor: httpx.AsyncClient) -> None:
        assert (await visitor.get("/tenant")).status_code == 401
        assert (await visitor.patch("/tenant", json={"audio_retention_days": 5})).status_code == 401

    async def test_members_get_403(self, visitor: httpx.AsyncClient) -> None:
        admin = await sign_up(visitor)
        member = await log_in(visitor, await add_user(visitor, admin))
        assert (await visitor.get("/tenant", headers=member.auth)).status_code == 403
        refused = await set_retention(visitor, member, 5)
        assert refused.status_code == 403
        assert (await visitor.get("/tenant", headers=admin.auth)).json()[
            "audio_retention_days"
        ] is None

    async def test_an_admin_sets_and_clears_the_period_and_it_is_audited(
        self, visitor: httpx.AsyncClient
    ) -> None:
        admin = await sign_up(visitor, tenant_name="Speech Clinic")
        other = await sign_up(visitor)
        shown = (await visitor.get("/tenant", headers=admin.auth)).json()
        assert shown["name"] == "Speech Clinic"
        assert shown["id"] == admin.user["tenant_id"]
        assert shown["audio_retention_days"] is None
        updated = await set_retention(visitor, admin, 30)
        assert updated.status_code == 200, updated.text
        assert updated.json()["audio_retention_days"] == 30
        assert (await visitor.get("/tenant", headers=admin.auth)).json()[
            "audio_retention_days"
        ] == 30
        unchanged = await visitor.patch("/tenant", headers=admin.auth, json={})
        assert unchanged.json()["audio_retention_days"] == 30
        cleared = await set_retention(visitor, admin, None)
        assert cleared.json()["audio_retention_days"] is None
        assert (await visitor.get("/tenant", headers=other.auth)).json()[
            "audio_retention_days"
        ] is None
        audit = (
            await visitor.get("/audit_events?action=tenant_updated", headers=admin.auth)
        ).json()["items"]
        assert [e["details"]["audio_retention_days"] for e in audit] == [
            {"from": 30, "to": None},
            {"from": None, "to": 30},
        ]

    @pytest.mark.parametrize(
        "body",
        [
            {"audio_retention_days": 0},
            {"audio_retention_days": 3651},
            {"audio_retention_days": -1},
            {"audio_retention_days": "30"},
            {"audio_retention_days": 30.5},
            {"audio_retention_days": True},
            {"audio_retention_days": 30, "name": "Renamed"},
        ],
    )
    async def test_bad_input_is_422_and_changes_nothing(
        self, visitor: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        admin = await sign_up(visitor)
        assert (await set_retention(visitor, admin, 90)).status_code == 200
        response = await visitor.patch("/tenant", headers=admin.auth, json=body)
        assert response.status_code == 422, response.text
        assert error_code(response) == "validation_error"
        shown = (await visitor.get("/tenant", headers=admin.auth)).json()
        assert shown["audio_retention_days"] == 90
        assert shown["name"] == "Clinic"


class TestSchedule:
    def test_two_schedulers_at_once_enqueue_one_set_of_jobs(
        self, app_conninfo: str, superuser_conninfo: str
    ) -> None:
        """The second caller waits on the task's row lock, then finds it no longer due. (A task
        of the test's own, so that a dispatcher running in this session cannot step in.)"""
        task = f"retention-test-{uuid.uuid4().hex[:8]}"
        tenants = [uuid.uuid4(), uuid.uuid4()]
        with psycopg.connect(app_conninfo) as conn:
            for tenant in tenants:
                conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))
                conn.execute(
                    "INSERT INTO tenants (id, name, audio_retention_days) VALUES (%s, 'R', 7)",
                    (tenant,),
                )
                conn.commit()
        make_due(superuser_conninfo, task)
        with psycopg.connect(app_conninfo) as first, psycopg.connect(app_conninfo) as second:
            won = first.execute(SCHEDULE_CALL, (task,)).fetchone()
            assert won is not None and won[0] >= 2
            answers: list[int] = []
            waiting = threading.Thread(
                target=lambda: answers.append(second.execute(SCHEDULE_CALL, (task,)).fetchone()[0])  # type: ignore[index]
            )
            waiting.start()
            waiting.join(timeout=1)
            assert waiting.is_alive(), "the second scheduler should wait for the first"
            first.commit()
            waiting.join(timeout=30)
            second.commit()
        assert answers == [0]
        jobs = retention_jobs(superuser_conninfo, [TenantId(t) for t in tenants])
        assert sorted(str(j[0]) for j in jobs) == sorted(str(t) for t in tenants)
        assert {(j[2], j[3]) for j in jobs} == {("low", 2)}
        assert {j[4]["task"] for j in jobs} == {task}

    async def test_job_loops_of_two_replicas_enqueue_once_and_a_restart_changes_nothing(
        self, settings: Settings, superuser_conninfo: str, app_conninfo: str
    ) -> None:
        tenant = uuid.uuid4()
        with psycopg.connect(app_conninfo) as conn:
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))
            conn.execute(
                "INSERT INTO tenants (id, name, audio_retention_days) VALUES (%s, 'R', 1)",
                (tenant,),
            )
        make_due(superuser_conninfo)
        replicas = [_job_loop(settings) for _ in range(2)]
        try:
            await asyncio.gather(*(loop.enqueue_due_tasks() for loop in replicas))
        finally:
            for loop in replicas:
                await loop.stop()
        assert len(retention_jobs(superuser_conninfo, [TenantId(tenant)])) == 1
        with psycopg.connect(superuser_conninfo) as conn:
            row = conn.execute(
                "SELECT next_run_at - last_run_at, last_run_at > now() - interval '1 minute' "
                "FROM scheduled_tasks WHERE name = 'audio_retention'"
            ).fetchone()
        assert row == (timedelta(days=1), True)

        restarted = _job_loop(settings)
        try:
            await restarted.enqueue_due_tasks()
            assert len(retention_jobs(superuser_conninfo, [TenantId(tenant)])) == 1
            make_due(superuser_conninfo)
            restarted = _job_loop(settings)
            await restarted.enqueue_due_tasks()
        finally:
            await restarted.stop()
        assert len(retention_jobs(superuser_conninfo, [TenantId(tenant)])) == 2


def _job_loop(settings: Settings) -> JobLoop:
    """A dispatcher's job loop, not started: only its scheduling is exercised."""

    async def unused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no recording is processed here")

    loop = JobLoop(settings, transcribe_chunk=unused, write_report=unused)
    install(loop)
    return loop


class TestRetentionJob:
    async def test_only_audio_older_than_the_period_goes_and_the_rest_stays(
        self, visitor: httpx.AsyncClient, sessions: Sessions, settings: Settings
    ) -> None:
        admin = await sign_up(visitor)
        keeper = await sign_up(visitor)  # no retention period: keeps everything
        storage = make_storage(settings)
        now = datetime.now(UTC)

        async def seeded(account: Account, fixture: str, days: int, status: RecordingStatus) -> str:
            return await stored_recording(
                sessions,
                storage,
                account,
                FIXTURES / fixture,
                status=status,
                created_at=now - timedelta(days=days),
            )

        old = await seeded(admin, "jfk.opus", 40, RecordingStatus.processed)
        young = await seeded(admin, "jfk.mp3", 10, RecordingStatus.processed)
        failed = await seeded(admin, "jfk.m4a", 31, RecordingStatus.failed)
        busy = await seeded(admin, "jfk.ogg", 40, RecordingStatus.processing)
        kept_elsewhere = await seeded(keeper, "jfk.opus", 400, RecordingStatus.processed)
        await _transcribed(sessions, admin, old)
        keys = {
            rid: await storage_key(sessions, account, rid)
            for account, rid in (
                (admin, old),
                (admin, young),
                (admin, failed),
                (admin, busy),
                (keeper, kept_elsewhere),
            )
        }
        assert (await set_retention(visitor, admin, 30)).status_code == 200
        job = await _claimed_retention_job(sessions, admin)

        await AudioRetention(sessions, storage, worker=WORKER, clock=lambda: now)(job)

        assert not storage.exists(keys[old]) and not storage.exists(keys[failed])
        assert all(storage.exists(keys[r]) for r in (young, busy, kept_elsewhere))
        shown = (await visitor.get(f"/audio_recordings/{old}", headers=admin.auth)).json()
        assert shown["audio_deleted_at"] is not None
        assert shown["transcript"]["text"] == "ask not"
        for rid in (young, busy):
            body = (await visitor.get(f"/audio_recordings/{rid}", headers=admin.auth)).json()
            assert body["audio_deleted_at"] is None
        audit = (
            await visitor.get("/audit_events?action=audio_retention_applied", headers=admin.auth)
        ).json()["items"]
        assert sorted((e["target_id"], e["actor_id"]) for e in audit) == sorted(
            [(old, None), (failed, None)]
        )
        async with tenant_session(sessions, tenant_of(admin)) as session:
            status = await session.scalar(select(Job.status).where(Job.id == job.id))
        assert status == "done"

        # Twenty days on, the young recording is past the period too; what went stays gone and
        # is not deleted (or audited) again.
        later = await _claimed_retention_job(sessions, admin)
        clock = now + timedelta(days=20, minutes=1)
        await AudioRetention(sessions, storage, worker=WORKER, clock=lambda: clock)(later)
        assert not storage.exists(keys[young])
        assert storage.exists(keys[busy]) and storage.exists(keys[kept_elsewhere])
        audit = (
            await visitor.get("/audit_events?action=audio_retention_applied", headers=admin.auth)
        ).json()["items"]
        assert sorted(e["target_id"] for e in audit) == sorted([young, old, failed])

    async def test_a_period_cleared_before_the_job_runs_deletes_nothing(
        self, visitor: httpx.AsyncClient, sessions: Sessions, settings: Settings
    ) -> None:
        admin = await sign_up(visitor)
        storage = make_storage(settings)
        recording_id = await stored_recording(
            sessions,
            storage,
            admin,
            FIXTURES / "jfk.webm",
            created_at=datetime.now(UTC) - timedelta(days=9),
        )
        assert (await set_retention(visitor, admin, 1)).status_code == 200
        job = await _claimed_retention_job(sessions, admin)
        assert (await set_retention(visitor, admin, None)).status_code == 200
        await AudioRetention(sessions, storage, worker=WORKER)(job)
        assert storage.exists(await storage_key(sessions, admin, recording_id))
        async with tenant_session(sessions, tenant_of(admin)) as session:
            assert await session.scalar(select(Job.status).where(Job.id == job.id)) == "done"


async def _transcribed(sessions: Sessions, account: Account, recording_id: str) -> None:
    async with tenant_session(sessions, tenant_of(account)) as session:
        session.add(
            Transcription(
                tenant_id=tenant_of(account),
                recording_id=uuid.UUID(recording_id),
                text="ask not",
                language="en",
                backend="local",
                model="tiny.en",
                segments=[],
                chunks=[],
                coverage={},
            )
        )


async def _claimed_retention_job(sessions: Sessions, account: Account) -> ClaimedJob:
    """The clinic's ``apply_retention`` job (as the schedule enqueues it, TestSchedule), claimed
    by ``WORKER`` in the transaction that enqueues it, so no other worker can take it."""
    async with tenant_session(sessions, tenant_of(account)) as session:
        job = await jobs.enqueue(
            session,
            tenant_id=tenant_of(account),
            recording_id=None,
            kind=APPLY_RETENTION,
            queue=Queue.low,
            max_attempts=4,
        )
        await session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(status="running", locked_by=WORKER, attempts=1)
        )
    return ClaimedJob(
        id=job.id,
        tenant_id=tenant_of(account),
        recording_id=None,
        kind=APPLY_RETENTION,
        queue=Queue.low,
        attempts=1,
        max_attempts=4,
    )
