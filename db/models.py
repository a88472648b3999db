"""SQLAlchemy models; the Alembic migrations in ``db/migrations`` are what make the schema."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(
        UUID(as_uuid=True),
        primary_key=True,
        default=uuid.uuid4,
        server_default=text("gen_random_uuid()"),
    )


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def _tenant_fk() -> Mapped[uuid.UUID]:
    return mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


class Role(StrEnum):
    admin = "admin"
    member = "member"


class RecordingStatus(StrEnum):
    pending = "pending"
    processing = "processing"
    processed = "processed"
    failed = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (RecordingStatus.processed, RecordingStatus.failed)


class SessionTask(StrEnum):
    """What the client was doing in a recorded session (``audio_recordings.task``)."""

    conversation = "conversation"
    monologue = "monologue"
    reading = "reading"
    picture_description = "picture_description"
    other = "other"


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    dead = "dead"


class Queue(StrEnum):
    critical = "critical"
    default = "default"
    low = "low"

    @property
    def priority(self) -> int:
        """Lower runs first."""
        return {"critical": 0, "default": 1, "low": 2}[self.value]


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    audio_retention_days: Mapped[int | None] = mapped_column(Integer)
    """Audio older than this many days is deleted (transcripts and reports stay); None keeps it."""
    created_at: Mapped[datetime] = _created_at()


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        Index("uq_users_email_lower", text("lower(email)"), unique=True),
        Index("ix_users_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = _created_at()


class RefreshToken(Base):
    """One row per issued refresh token; a login starts a family, each refresh adds a child."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        Index("ix_refresh_tokens_family_id", "family_id"),
        Index("ix_refresh_tokens_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AudioRecording(Base):
    __tablename__ = "audio_recordings"
    __table_args__ = (
        # One recording per uploader and bytes: de-duplication never crosses what a member may
        # see (migration 0003); the index finds an admin's tenant-wide match.
        UniqueConstraint("tenant_id", "user_id", "sha256", "channel"),
        Index("ix_audio_recordings_tenant_id_sha256", "tenant_id", "sha256"),
        Index("ix_audio_recordings_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    filename: Mapped[str | None] = mapped_column(String(512))
    content_type: Mapped[str | None] = mapped_column(String(128))
    storage_key: Mapped[str] = mapped_column(String(512), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    duration_s: Mapped[float | None] = mapped_column(Float)
    codec: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16), nullable=False, default="en")
    report_type: Mapped[str] = mapped_column(String(32), nullable=False)
    report_language: Mapped[str] = mapped_column(String(8), nullable=False)
    channel: Mapped[str] = mapped_column(
        String(8), nullable=False, default="mix", server_default="mix"
    )
    """``pipelines.audio.Channel``: both channels mixed, or the one the speech is on."""
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    chunks_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    chunks_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("clients.id", ondelete="CASCADE")
    )
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the session took place (the upload's ``recorded_at``, else when it was uploaded)."""
    task: Mapped[str | None] = mapped_column(String(32))
    """What the client was doing: conversation, monologue, reading, ..."""
    audio_deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Set when retention removed the audio; the transcript and reports stay."""
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class Client(Base):
    """A person whose speech a clinic records."""

    __tablename__ = "clients"
    __table_args__ = (Index("ix_clients_tenant_id_created_at", "tenant_id", "created_at"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    external_ref: Mapped[str | None] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class ClientAssignment(Base):
    """A member who may see a client (admins see every client of their clinic)."""

    __tablename__ = "client_assignments"
    __table_args__ = (Index("ix_client_assignments_user_id", "user_id"),)

    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    client_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = _created_at()


class Annotation(Base):
    """One version of a recording's words and events: 1 is automatic, each review adds one."""

    __tablename__ = "annotations"
    __table_args__ = (
        UniqueConstraint("recording_id", "version"),
        Index("ix_annotations_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    recording_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("audio_recordings.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    segments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    events: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    """Computed from this version's words and events."""
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created_at()


class AuditEvent(Base):
    """Append-only (the app role may only INSERT and SELECT). Ids, never names: entries
    outlive what they point at, and an erased client stays pseudonymous here."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_tenant_id_id", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, default=dict, server_default="{}"
    )
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class ScheduledTask(Base):
    """Periodic work; ``fluently_schedule_due`` claims a due row once across all workers."""

    __tablename__ = "scheduled_tasks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    period_s: Mapped[int] = mapped_column(Integer, nullable=False)
    next_run_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Transcription(Base):
    __tablename__ = "transcriptions"
    __table_args__ = (Index("ix_transcriptions_tenant_id_created_at", "tenant_id", "created_at"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    recording_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("audio_recordings.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    )
    text: Mapped[str] = mapped_column(Text, nullable=False)
    language: Mapped[str] = mapped_column(String(16), nullable=False)
    backend: Mapped[str] = mapped_column(String(32), nullable=False)
    model: Mapped[str] = mapped_column(String(200), nullable=False)
    segments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    chunks: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    coverage: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, default=dict, server_default="{}"
    )
    """What the coverage check found and repaired (``pipelines.coverage.Coverage``)."""
    created_at: Mapped[datetime] = _created_at()


class ReportStatus(StrEnum):
    pending = "pending"
    ready = "ready"
    failed = "failed"


class Report(Base):
    """A report of a recording. The one written while processing is ``automatic``; others are
    requested and produced through the job queue (``status``)."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_reports_recording_id_created_at", "recording_id", "created_at"),
        Index(
            "uq_reports_recording_id_automatic",
            "recording_id",
            unique=True,
            postgresql_where=text("automatic"),
        ),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    recording_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("audio_recordings.id", ondelete="CASCADE"), nullable=False
    )
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="ready")
    automatic: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    annotation_version: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    generator: Mapped[str | None] = mapped_column(String(200))
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    content_markdown: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()


class Job(Base):
    """A durable unit of work; claimed with SKIP LOCKED through ``fluently_claim_job``."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index(
            "ix_jobs_queued",
            "priority",
            "run_at",
            "id",
            postgresql_where=text("status = 'queued'"),
        ),
        Index(
            "ix_jobs_expired_leases",
            "lease_expires_at",
            postgresql_where=text("status = 'running'"),
        ),
        Index("ix_jobs_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_jobs_recording_id", "recording_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = _tenant_fk()
    recording_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("audio_recordings.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    queue: Mapped[str] = mapped_column(String(16), nullable=False)
    priority: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    run_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    locked_by: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, default=dict, server_default="{}"
    )
    """What the job needs beyond its recording: a report's id, the scheduled task's name."""
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class RateLimitHit(Base):
    """Sliding-window log shared by every replica; keyed by IP or account, not tenant data."""

    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index("ix_rate_limit_hits_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


TENANT_TABLES: tuple[str, ...] = (
    "users",
    "refresh_tokens",
    "audio_recordings",
    "transcriptions",
    "reports",
    "jobs",
    "clients",
    "client_assignments",
    "annotations",
    "audit_events",
)
"""Every table with a ``tenant_id``; each has RLS enabled and forced."""
