"""clinical workflow: clients, assignments, sessions, annotations, reports as resources, audit

- ``clients`` (a clinic's clients) and ``client_assignments`` (which members see which client);
  a recording may belong to a client (``client_id``, ``recorded_at``, ``task``); its audio may be
  removed by retention (``audio_deleted_at``) while its transcript and reports stay.
- ``annotations``: versioned words and events of a recording; version 1 is the automatic one,
  every clinician review adds a version (``reviewed_by``, ``reviewed_at``).
- ``reports`` become resources: several per recording, produced through the job queue
  (``status``), each naming the annotation version it was written from; the one report written
  while processing is ``automatic`` (one per recording, replaced when processing reruns).
- ``jobs.payload``: what a job needs beyond its recording (a report's id, a retention run).
- ``audit_events``: append-only; the app role may INSERT and SELECT, nothing else. Actor and
  target are ids without foreign keys, so entries outlive what they name.
- ``tenants.audio_retention_days`` and ``scheduled_tasks``: periodic work whose schedule lives
  in Postgres; ``fluently_schedule_due`` claims a due task once, whatever the number of workers,
  and enqueues one job per tenant that asked for it.

Every new tenant table has RLS enabled and forced with the same ``tenant_isolation`` policy.
Existing recordings get an automatic annotation built from their transcript and report
(version 1), so reviewed and unreviewed recordings read the same way.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 11:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
NEW_TENANT_TABLES = ("clients", "client_assignments", "annotations", "audit_events")
RETENTION_TASK = "audio_retention"
DAY_S = 24 * 3600


def _now() -> sa.TextClause:
    return sa.text("now()")


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["tenants.id"],
        name=op.f(f"fk_{table}_tenant_id_tenants"),
        ondelete="CASCADE",
    )


def _across_tenants(tables: tuple[str, ...], statement: str) -> None:
    """Run a data statement over every tenant's rows of ``tables``. The owner running the
    migration is subject to their forced policies (no tenant set: no rows), so they are lifted
    for this statement only, inside the migration's transaction."""
    for table in tables:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(statement)
    for table in tables:
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def _create_tables() -> None:
    op.create_table(
        "clients",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("external_ref", sa.String(length=200), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        _tenant_fk("clients"),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_clients_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
    )
    op.create_index("ix_clients_tenant_id_created_at", "clients", ["tenant_id", "created_at"])
    op.create_table(
        "client_assignments",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        _tenant_fk("client_assignments"),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_client_assignments_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_client_assignments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", "user_id", name=op.f("pk_client_assignments")),
    )
    op.create_index("ix_client_assignments_user_id", "client_assignments", ["user_id"])

    op.add_column("audio_recordings", sa.Column("client_id", sa.UUID(), nullable=True))
    op.add_column(
        "audio_recordings", sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("audio_recordings", sa.Column("task", sa.String(length=32), nullable=True))
    op.add_column(
        "audio_recordings", sa.Column("audio_deleted_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_foreign_key(
        op.f("fk_audio_recordings_client_id_clients"),
        "audio_recordings",
        "clients",
        ["client_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index(
        "ix_audio_recordings_client_id_recorded_at",
        "audio_recordings",
        ["client_id", "recorded_at"],
    )

    op.create_table(
        "annotations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("recording_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("segments", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("events", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("metrics", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reviewed_by", sa.UUID(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        _tenant_fk("annotations"),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["audio_recordings.id"],
            name=op.f("fk_annotations_recording_id_audio_recordings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"],
            ["users.id"],
            name=op.f("fk_annotations_reviewed_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotations")),
        sa.UniqueConstraint(
            "recording_id", "version", name=op.f("uq_annotations_recording_id_version")
        ),
    )
    op.create_index(
        "ix_annotations_tenant_id_created_at", "annotations", ["tenant_id", "created_at"]
    )

    op.drop_constraint("uq_reports_recording_id", "reports", type_="unique")
    op.create_index("ix_reports_recording_id_created_at", "reports", ["recording_id", "created_at"])
    op.add_column(
        "reports",
        sa.Column("automatic", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    _across_tenants(("reports",), "UPDATE reports SET automatic = true")
    op.create_index(
        "uq_reports_recording_id_automatic",
        "reports",
        ["recording_id"],
        unique=True,
        postgresql_where=sa.text("automatic"),
    )
    op.add_column(
        "reports",
        sa.Column("status", sa.String(length=16), server_default="ready", nullable=False),
    )
    op.add_column("reports", sa.Column("annotation_version", sa.Integer(), nullable=True))
    op.add_column("reports", sa.Column("error", sa.Text(), nullable=True))
    op.add_column("reports", sa.Column("requested_by", sa.UUID(), nullable=True))
    for column in ("generator", "metrics", "content_markdown"):
        op.alter_column("reports", column, nullable=True)

    op.add_column(
        "jobs",
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column("tenants", sa.Column("audio_retention_days", sa.Integer(), nullable=True))

    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        _tenant_fk("audit_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_tenant_id_id", "audit_events", ["tenant_id", "id"])

    op.create_table(
        "scheduled_tasks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("period_s", sa.Integer(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduled_tasks")),
    )
    op.execute(f"INSERT INTO scheduled_tasks (name, period_s) VALUES ('{RETENTION_TASK}', {DAY_S})")


def _backfill_annotations() -> None:
    """Version 1 of every processed recording: its transcript's segments and its report's events
    and metrics, so the API reads reviewed and unreviewed recordings the same way."""
    _across_tenants(
        ("transcriptions", "reports"),
        """
        INSERT INTO annotations (tenant_id, recording_id, version, segments, events, metrics,
                                 created_at)
        SELECT t.tenant_id, t.recording_id, 1, t.segments,
               COALESCE((SELECT jsonb_agg(e || '{"to_review": false}'::jsonb)
                         FROM jsonb_array_elements(r.metrics -> 'disfluencies') e), '[]'::jsonb)
               || COALESCE((SELECT jsonb_agg(e || '{"to_review": true}'::jsonb)
                            FROM jsonb_array_elements(r.metrics -> 'to_review') e), '[]'::jsonb),
               COALESCE(r.metrics, '{}'::jsonb),
               t.created_at
        FROM transcriptions t
        LEFT JOIN LATERAL (
            SELECT metrics FROM reports WHERE reports.recording_id = t.recording_id
            ORDER BY created_at LIMIT 1
        ) r ON true
        """,
    )


SCHEDULE_FUNCTION = """
CREATE FUNCTION fluently_schedule_due(p_task text, p_kind text, p_queue text, p_priority integer,
                                      p_max_attempts integer)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    claimed integer;
    enqueued integer;
BEGIN
    UPDATE scheduled_tasks
    SET last_run_at = now(), next_run_at = now() + make_interval(secs => period_s)
    WHERE name = p_task AND next_run_at <= now();
    GET DIAGNOSTICS claimed = ROW_COUNT;
    IF claimed = 0 THEN
        RETURN 0;
    END IF;
    INSERT INTO jobs (tenant_id, recording_id, kind, queue, priority, status, attempts,
                      max_attempts, payload)
    SELECT t.id, NULL, p_kind, p_queue, p_priority, 'queued', 0, p_max_attempts,
           jsonb_build_object('task', p_task)
    FROM tenants t WHERE t.audio_retention_days IS NOT NULL;
    GET DIAGNOSTICS enqueued = ROW_COUNT;
    RETURN enqueued;
END
$$;
"""


def _app_role() -> str:
    return op.get_context().config.get_main_option("app_role") or "fluently_app"  # type: ignore[union-attr]


def _secure() -> None:
    app = _app_role()
    for table in NEW_TENANT_TABLES:
        op.execute(f"""
            ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
            ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
            CREATE POLICY tenant_isolation ON {table}
                USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT});
        """)
    # The schedule function runs as the owner: it reads every tenant's retention setting and
    # inserts their jobs, which the forced policies would otherwise refuse.
    op.execute("""
        CREATE POLICY owner_cross_tenant ON tenants TO CURRENT_USER USING (true) WITH CHECK (true);
    """)
    op.execute(SCHEDULE_FUNCTION)
    sig = "fluently_schedule_due(text, text, text, integer, integer)"
    op.execute(f"REVOKE ALL ON FUNCTION {sig} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {sig} TO {app}")
    op.execute(f"""
        GRANT SELECT, INSERT, UPDATE, DELETE ON clients, client_assignments, annotations TO {app};
        REVOKE ALL ON audit_events FROM {app};
        GRANT SELECT, INSERT ON audit_events TO {app};
        REVOKE ALL ON scheduled_tasks FROM {app};
        GRANT SELECT ON scheduled_tasks TO {app};
    """)


def upgrade() -> None:
    _create_tables()
    _backfill_annotations()
    _secure()


def downgrade() -> None:
    """Back to one report per recording: the newest ready report of each is kept."""
    op.execute("DROP FUNCTION fluently_schedule_due(text, text, text, integer, integer)")
    op.execute("DROP POLICY owner_cross_tenant ON tenants")
    op.drop_table("scheduled_tasks")
    op.drop_index("ix_audit_events_tenant_id_id", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_column("tenants", "audio_retention_days")
    op.drop_column("jobs", "payload")
    _across_tenants(
        ("reports",),
        """
        DELETE FROM reports r WHERE r.status <> 'ready' OR EXISTS (
            SELECT 1 FROM reports newer WHERE newer.recording_id = r.recording_id
              AND newer.status = 'ready'
              AND (newer.created_at, newer.id) > (r.created_at, r.id))
        """,
    )
    for column in ("generator", "metrics", "content_markdown"):
        op.alter_column("reports", column, nullable=False)
    op.drop_index("uq_reports_recording_id_automatic", table_name="reports")
    for column in ("automatic", "requested_by", "error", "annotation_version", "status"):
        op.drop_column("reports", column)
    op.drop_index("ix_reports_recording_id_created_at", table_name="reports")
    op.create_unique_constraint("uq_reports_recording_id", "reports", ["recording_id"])
    op.drop_index("ix_annotations_tenant_id_created_at", table_name="annotations")
    op.drop_table("annotations")
    op.drop_index("ix_audio_recordings_client_id_recorded_at", table_name="audio_recordings")
    op.drop_constraint("fk_audio_recordings_client_id_clients", "audio_recordings")
    for column in ("audio_deleted_at", "task", "recorded_at", "client_id"):
        op.drop_column("audio_recordings", column)
    op.drop_index("ix_client_assignments_user_id", table_name="client_assignments")
    op.drop_table("client_assignments")
    op.drop_index("ix_clients_tenant_id_created_at", table_name="clients")
    op.drop_table("clients")
