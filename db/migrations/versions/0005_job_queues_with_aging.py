"""job queues with aging: priority order that never starves ``low``

- ``fluently_claim_job`` takes the aging step and the queue priorities. A queued job is ranked
  by ``run_at + priority × aging step``: a ``critical`` job runs before an older ``default`` or
  ``low`` one, but a ``low`` job that has been runnable for more than two steps runs before a
  ``critical`` job that just arrived, so no queue waits forever behind a busier one.
- The claim reads each priority's oldest runnable jobs from ``ix_jobs_queued`` (priority,
  run_at, id) and expired leases from ``ix_jobs_expired_leases``, then ranks those few rows:
  its cost does not grow with the backlog. It stays the one SECURITY DEFINER path across
  tenants and returns the job's queue too.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HEADS_PER_PRIORITY = 16
"""Oldest runnable jobs read per priority: enough that the rows other workers hold locked at
the same instant (SKIP LOCKED) leave one to take."""

CLAIM = f"""
CREATE FUNCTION fluently_claim_job(p_worker text, p_lease_s double precision,
                                   p_aging_s double precision, p_priorities integer[])
RETURNS TABLE (id bigint, tenant_id uuid, recording_id uuid, kind text, queue text,
               attempts integer, max_attempts integer)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE jobs j
    SET status = 'running', locked_by = p_worker, attempts = j.attempts + 1,
        lease_expires_at = now() + make_interval(secs => p_lease_s), updated_at = now()
    WHERE j.id = (
        SELECT c.id FROM jobs c
        WHERE c.id IN (
            SELECT h.id FROM unnest(p_priorities) AS p(priority)
            CROSS JOIN LATERAL (
                SELECT q.id FROM jobs q
                WHERE q.status = 'queued' AND q.priority = p.priority AND q.run_at <= now()
                ORDER BY q.run_at, q.id
                LIMIT {HEADS_PER_PRIORITY}
            ) h
            UNION ALL
            (SELECT e.id FROM jobs e
             WHERE e.status = 'running' AND e.lease_expires_at < now()
             ORDER BY e.lease_expires_at
             LIMIT {HEADS_PER_PRIORITY})
        )
        AND ((c.status = 'queued' AND c.run_at <= now())
             OR (c.status = 'running' AND c.lease_expires_at < now()))
        ORDER BY c.run_at + make_interval(secs => c.priority * p_aging_s), c.id
        FOR UPDATE SKIP LOCKED
        LIMIT 1
    )
    RETURNING j.id, j.tenant_id, j.recording_id, j.kind::text, j.queue::text, j.attempts,
              j.max_attempts
$$;
"""

OLD_CLAIM = """
CREATE FUNCTION fluently_claim_job(p_worker text, p_lease_s double precision)
RETURNS TABLE (id bigint, tenant_id uuid, recording_id uuid, kind text, attempts integer,
               max_attempts integer)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE jobs j
    SET status = 'running', locked_by = p_worker, attempts = j.attempts + 1,
        lease_expires_at = now() + make_interval(secs => p_lease_s), updated_at = now()
    WHERE j.id = (
        SELECT c.id FROM jobs c
        WHERE (c.status = 'queued' AND c.run_at <= now())
           OR (c.status = 'running' AND c.lease_expires_at < now())
        ORDER BY c.priority, c.run_at, c.id
        FOR UPDATE SKIP LOCKED
        LIMIT 1
    )
    RETURNING j.id, j.tenant_id, j.recording_id, j.kind::text, j.attempts, j.max_attempts
$$;
"""

SIGNATURE = "fluently_claim_job(text, double precision, double precision, integer[])"
OLD_SIGNATURE = "fluently_claim_job(text, double precision)"


def _app_role() -> str:
    return op.get_context().config.get_main_option("app_role") or "fluently_app"  # type: ignore[union-attr]


def _install(create: str, signature: str) -> None:
    op.execute(create)
    op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {_app_role()}")


def upgrade() -> None:
    op.drop_index("ix_jobs_claimable", table_name="jobs")
    op.create_index(
        "ix_jobs_queued",
        "jobs",
        ["priority", "run_at", "id"],
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_index(
        "ix_jobs_expired_leases",
        "jobs",
        ["lease_expires_at"],
        postgresql_where=sa.text("status = 'running'"),
    )
    op.execute(f"DROP FUNCTION {OLD_SIGNATURE}")
    _install(CLAIM, SIGNATURE)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    _install(OLD_CLAIM, OLD_SIGNATURE)
    op.drop_index("ix_jobs_expired_leases", table_name="jobs")
    op.drop_index("ix_jobs_queued", table_name="jobs")
    op.create_index(
        "ix_jobs_claimable",
        "jobs",
        ["priority", "run_at"],
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
