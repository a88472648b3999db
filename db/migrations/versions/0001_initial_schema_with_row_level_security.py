"""initial schema with row-level security

Every tenant-owned table gets RLS enabled and FORCED with one policy whose USING and WITH CHECK
compare ``tenant_id`` with the transaction's ``app.tenant_id`` (unset -> NULL -> no rows, no
writes). The app role owns nothing and is granted DML only. Three SECURITY DEFINER functions are
the only paths across tenants: finding a login by email, a refresh token by hash, and claiming
the next job; they run as the schema owner, which a policy lets read those three tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 00:04:18.723531
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _create_tables() -> None:
    op.create_table(
        "rate_limit_hits",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_hits")),
    )
    op.create_index("ix_rate_limit_hits_key_at", "rate_limit_hits", ["key", "at"], unique=False)
    op.create_table(
        "tenants",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_users_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index(
        "ix_users_tenant_id_created_at", "users", ["tenant_id", "created_at"], unique=False
    )
    op.create_index(
        "uq_users_email_lower", "users", [sa.literal_column("lower(email)")], unique=True
    )
    op.create_table(
        "audio_recordings",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("filename", sa.String(length=512), nullable=True),
        sa.Column("content_type", sa.String(length=128), nullable=True),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("codec", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("report_type", sa.String(length=32), nullable=False),
        sa.Column("report_language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("chunks_done", sa.Integer(), nullable=False),
        sa.Column("chunks_total", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_audio_recordings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_audio_recordings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audio_recordings")),
        sa.UniqueConstraint(
            "tenant_id", "sha256", name=op.f("uq_audio_recordings_tenant_id_sha256")
        ),
    )
    op.create_index(
        "ix_audio_recordings_tenant_id_created_at",
        "audio_recordings",
        ["tenant_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("family_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_refresh_tokens_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_refresh_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"], unique=False)
    op.create_index(
        "ix_refresh_tokens_tenant_id_created_at",
        "refresh_tokens",
        ["tenant_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("recording_id", sa.UUID(), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column(
            "run_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("locked_by", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["audio_recordings.id"],
            name=op.f("fk_jobs_recording_id_audio_recordings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_jobs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(
        "ix_jobs_claimable",
        "jobs",
        ["priority", "run_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.create_index("ix_jobs_recording_id", "jobs", ["recording_id"], unique=False)
    op.create_index(
        "ix_jobs_tenant_id_created_at", "jobs", ["tenant_id", "created_at"], unique=False
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("recording_id", sa.UUID(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("generator", sa.String(length=200), nullable=False),
        sa.Column("metrics", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("content_markdown", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["audio_recordings.id"],
            name=op.f("fk_reports_recording_id_audio_recordings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_reports_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("recording_id", name=op.f("uq_reports_recording_id")),
    )
    op.create_index(
        "ix_reports_tenant_id_created_at", "reports", ["tenant_id", "created_at"], unique=False
    )
    op.create_table(
        "transcriptions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("recording_id", sa.UUID(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("backend", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("segments", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("chunks", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["audio_recordings.id"],
            name=op.f("fk_transcriptions_recording_id_audio_recordings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_transcriptions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcriptions")),
        sa.UniqueConstraint("recording_id", name=op.f("uq_transcriptions_recording_id")),
    )
    op.create_index(
        "ix_transcriptions_tenant_id_created_at",
        "transcriptions",
        ["tenant_id", "created_at"],
        unique=False,
    )


def _drop_tables() -> None:
    op.drop_index("ix_transcriptions_tenant_id_created_at", table_name="transcriptions")
    op.drop_table("transcriptions")
    op.drop_index("ix_reports_tenant_id_created_at", table_name="reports")
    op.drop_table("reports")
    op.drop_index("ix_jobs_tenant_id_created_at", table_name="jobs")
    op.drop_index("ix_jobs_recording_id", table_name="jobs")
    op.drop_index(
        "ix_jobs_claimable",
        table_name="jobs",
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.drop_table("jobs")
    op.drop_index("ix_refresh_tokens_tenant_id_created_at", table_name="refresh_tokens")
    op.drop_index("ix_refresh_tokens_family_id", table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index("ix_audio_recordings_tenant_id_created_at", table_name="audio_recordings")
    op.drop_table("audio_recordings")
    op.drop_index("uq_users_email_lower", table_name="users")
    op.drop_index("ix_users_tenant_id_created_at", table_name="users")
    op.drop_table("users")
    op.drop_table("tenants")
    op.drop_index("ix_rate_limit_hits_key_at", table_name="rate_limit_hits")
    op.drop_table("rate_limit_hits")


TENANT_TABLES = ("users", "refresh_tokens", "audio_recordings", "transcriptions", "reports", "jobs")
OWNER_READS = ("users", "refresh_tokens", "jobs")
CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"

FUNCTIONS = """
CREATE FUNCTION fluently_find_login(p_email text)
RETURNS TABLE (user_id uuid, tenant_id uuid, password_hash text, role text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.id, u.tenant_id, u.password_hash, u.role::text
    FROM users u WHERE lower(u.email) = lower(p_email)
$$;

CREATE FUNCTION fluently_find_refresh_token(p_token_hash text)
RETURNS TABLE (id uuid, tenant_id uuid, user_id uuid, family_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT r.id, r.tenant_id, r.user_id, r.family_id
    FROM refresh_tokens r WHERE r.token_hash = p_token_hash
$$;

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

CREATE FUNCTION fluently_notify_job() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fluently_jobs', NEW.queue);
    RETURN NEW;
END
$$;

CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE OF status, run_at ON jobs
FOR EACH ROW WHEN (NEW.status = 'queued') EXECUTE FUNCTION fluently_notify_job();

CREATE FUNCTION fluently_notify_recording() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fluently_recordings', COALESCE(NEW.id, OLD.id)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER audio_recordings_notify AFTER UPDATE OR DELETE ON audio_recordings
FOR EACH ROW EXECUTE FUNCTION fluently_notify_recording();
"""

FUNCTION_SIGNATURES = (
    "fluently_find_login(text)",
    "fluently_find_refresh_token(text)",
    "fluently_claim_job(text, double precision)",
)


def _app_role() -> str:
    return op.get_context().config.get_main_option("app_role") or "fluently_app"  # type: ignore[union-attr]


def _secure() -> None:
    app = _app_role()
    op.execute(f"""
        ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
        ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON tenants
            USING (id = {CURRENT_TENANT}) WITH CHECK (id = {CURRENT_TENANT});
    """)
    for table in TENANT_TABLES:
        op.execute(f"""
            ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
            ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
            CREATE POLICY tenant_isolation ON {table}
                USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT});
        """)
    for table in OWNER_READS:
        op.execute(f"""
            CREATE POLICY owner_cross_tenant ON {table} TO CURRENT_USER
                USING (true) WITH CHECK (true);
        """)
    op.execute(FUNCTIONS)
    op.execute(f"""
        GRANT USAGE ON SCHEMA public TO {app};
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app};
        REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {app};
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app};
        ALTER DEFAULT PRIVILEGES IN SCHEMA public
            GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app};
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {app};
    """)
    for signature in FUNCTION_SIGNATURES:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {app}")


def _unsecure() -> None:
    app = _app_role()
    op.execute(f"""
        ALTER DEFAULT PRIVILEGES IN SCHEMA public
            REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {app};
        ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM {app};
        REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {app};
        REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {app};
        DROP TRIGGER audio_recordings_notify ON audio_recordings;
        DROP TRIGGER jobs_notify ON jobs;
        DROP FUNCTION fluently_notify_recording();
        DROP FUNCTION fluently_notify_job();
    """)
    for signature in FUNCTION_SIGNATURES:
        op.execute(f"DROP FUNCTION {signature}")


def upgrade() -> None:
    _create_tables()
    _secure()


def downgrade() -> None:
    _unsecure()
    _drop_tables()
