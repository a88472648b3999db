"""The claim order of the job queue: priority first, but a job that has waited long enough
overtakes newer jobs of higher queues, so ``low`` never starves.

Each test has a scratch database of its own, migrated to head: the claim takes the next job of
any tenant, and the session's database holds other tests' queued jobs.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest

from db import migrate
from db.models import Queue
from db.repositories import jobs
from db.session import make_engine, make_sessions, system_session
from fluently.settings import JobSettings
from serve_app.services.recordings import processing_queue

APP_ROLE = "fluently_app"
AGING_STEP_S = 60.0


class Queued:
    """Jobs of one clinic in a scratch database, each made runnable some seconds ago."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.libpq = url.replace("postgresql+psycopg://", "postgresql://")
        self.tenant = uuid.uuid4()
        with self._as_tenant() as conn:
            conn.execute("INSERT INTO tenants (id, name) VALUES (%s, 'clinic')", (self.tenant,))

    def _as_tenant(self) -> psycopg.Connection:
        conn = psycopg.connect(self.libpq)
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(self.tenant),))
        return conn

    def add(self, queue: Queue, *, runnable_for_s: float) -> int:
        with self._as_tenant() as conn:
            row = conn.execute(
                "INSERT INTO jobs (tenant_id, kind, queue, priority, status, attempts, "
                "max_attempts, run_at) VALUES (%s, 'process_recording', %s, %s, 'queued', 0, 4, "
                "now() - make_interval(secs => %s)) RETURNING id",
                (self.tenant, queue.value, queue.priority, runnable_for_s),
            ).fetchone()
        assert row is not None
        return int(row[0])

    async def claim_order(self) -> list[tuple[int, Queue]]:
        """Claim until nothing is left; the (id, queue) of each claim, in order."""
        engine = make_engine(self.url)
        sessions = make_sessions(engine)
        order: list[tuple[int, Queue]] = []
        try:
            while True:
                async with system_session(sessions) as session:
                    job = await jobs.claim(
                        session, worker="test", lease_s=60, aging_step_s=AGING_STEP_S
                    )
                if job is None:
                    return order
                order.append((job.id, job.queue))
        finally:
            await engine.dispose()


@pytest.fixture
async def queued(scratch_database: str) -> AsyncIterator[Queued]:
    migrate.upgrade(scratch_database, app_role=APP_ROLE)
    yield Queued(scratch_database)


class TestClaimOrder:
    async def test_a_critical_job_enqueued_after_a_default_one_is_claimed_first(
        self, queued: Queued
    ) -> None:
        older_default = queued.add(Queue.default, runnable_for_s=10)
        newer_critical = queued.add(Queue.critical, runnable_for_s=1)
        assert await queued.claim_order() == [
            (newer_critical, Queue.critical),
            (older_default, Queue.default),
        ]

    async def test_queues_are_served_by_priority_while_nothing_has_waited_long(
        self, queued: Queued
    ) -> None:
        low = queued.add(Queue.low, runnable_for_s=30)
        default = queued.add(Queue.default, runnable_for_s=20)
        critical = [queued.add(Queue.critical, runnable_for_s=s) for s in (10, 5)]
        assert [job for job, _ in await queued.claim_order()] == [*critical, default, low]

    async def test_a_low_job_waiting_past_the_aging_bound_goes_before_newer_critical_ones(
        self, queued: Queued
    ) -> None:
        """``low`` is two steps below ``critical``: after two aging steps it is first."""
        critical = [queued.add(Queue.critical, runnable_for_s=s) for s in (30, 20, 10)]
        starved = queued.add(Queue.low, runnable_for_s=2 * AGING_STEP_S + 31)
        order = [job for job, _ in await queued.claim_order()]
        assert order == [starved, *critical]

    async def test_a_low_job_inside_the_aging_bound_still_waits_for_critical_ones(
        self, queued: Queued
    ) -> None:
        critical = queued.add(Queue.critical, runnable_for_s=1)
        low = queued.add(Queue.low, runnable_for_s=2 * AGING_STEP_S - 10)
        assert [job for job, _ in await queued.claim_order()] == [critical, low]

    async def test_a_job_scheduled_for_later_is_not_claimed(self, queued: Queued) -> None:
        queued.add(Queue.critical, runnable_for_s=-3600)
        assert await queued.claim_order() == []


class TestRouting:
    def test_short_recordings_are_critical_and_longer_ones_default(self) -> None:
        settings = JobSettings()
        assert processing_queue(11.0, settings=settings) is Queue.critical
        assert processing_queue(settings.critical_max_duration_s, settings=settings) is (
            Queue.critical
        )
        assert processing_queue(43 * 60.0, settings=settings) is Queue.default
