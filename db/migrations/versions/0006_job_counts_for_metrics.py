"""job counts for metrics

The dispatcher exports how many jobs sit in each state and queue (``fluently_jobs``), for all
clinics together. The app role sees one tenant's jobs at a time (forced RLS, failing closed), so
``fluently_job_counts`` is a SECURITY DEFINER function that returns counts only: no id, no
tenant, nothing a clinic wrote. It is the only new path across tenants; the app may execute it,
nobody else.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "fluently_job_counts()"
FUNCTION = """
CREATE FUNCTION fluently_job_counts()
RETURNS TABLE (status text, queue text, jobs bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT j.status::text, j.queue::text, count(*) FROM jobs j GROUP BY j.status, j.queue
$$;
"""


def _app_role() -> str:
    return op.get_context().config.get_main_option("app_role") or "fluently_app"  # type: ignore[union-attr]


def upgrade() -> None:
    op.execute(FUNCTION)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {_app_role()}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
