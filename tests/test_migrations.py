"""Migrations on a scratch database of their own, run by the schema owner as in production:
the whole chain down and up, and data written at one revision intact after the next."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy.exc import DBAPIError

from db import migrate

APP_ROLE = "fluently_app"


def _libpq(url: str) -> str:
    """A SQLAlchemy psycopg URL as libpq takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def _as_tenant(url: str, tenant: uuid.UUID) -> Iterator[psycopg.Connection]:
    """A transaction with ``app.tenant_id`` set, as the app writes rows (the owner is subject
    to the forced policies too)."""
    with psycopg.connect(_libpq(url)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))
        yield conn


def _version(url: str) -> str | None:
    with psycopg.connect(_libpq(url)) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return None if row is None else str(row[0])


def _clinic(conn: psycopg.Connection, tenant: uuid.UUID, users: list[uuid.UUID]) -> None:
    conn.execute("INSERT INTO tenants (id, name) VALUES (%s, 'clinic')", (tenant,))
    for user in users:
        conn.execute(
            "INSERT INTO users (id, tenant_id, email, password_hash, role) "
            "VALUES (%s, %s, %s, 'x', 'member')",
            (user, tenant, f"{user}@example.org"),
        )


def _recording(
    conn: psycopg.Connection,
    tenant: uuid.UUID,
    user: uuid.UUID,
    sha256: str,
    channel: str | None = None,
) -> uuid.UUID:
    """A processed recording row; ``channel`` (0007 on) left to its default when None."""
    recording = uuid.uuid4()
    conn.execute(
        "INSERT INTO audio_recordings (id, tenant_id, user_id, storage_key, sha256, size_bytes, "
        "language, report_type, report_language, status, chunks_done, chunks_total) "
        "VALUES (%s, %s, %s, 'k', %s, 1, 'en', 'fluency_analysis', 'en', 'processed', 1, 1)",
        (recording, tenant, user, sha256),
    )
    if channel is not None:
        conn.execute("UPDATE audio_recordings SET channel = %s WHERE id = %s", (channel, recording))
    return recording


class TestChain:
    def test_upgrade_downgrade_to_base_and_upgrade_again(self, scratch_database: str) -> None:
        migrate.upgrade(scratch_database, app_role=APP_ROLE)
        migrate.downgrade(scratch_database, app_role=APP_ROLE)
        with psycopg.connect(_libpq(scratch_database)) as conn:
            left = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            ).fetchone()
            assert left == (0,)
        migrate.upgrade(scratch_database, app_role=APP_ROLE)
        assert _version(scratch_database) in migrate.head_revisions()


class TestMigration0003:
    def test_downgrade_refuses_while_two_users_hold_the_same_bytes(
        self, scratch_database: str
    ) -> None:
        migrate.upgrade(scratch_database, app_role=APP_ROLE, revision="0003")
        tenant, users = uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()]
        with _as_tenant(scratch_database, tenant) as conn:
            _clinic(conn, tenant, users)
            for user in users:
                _recording(conn, tenant, user, "ab" * 32)
        with pytest.raises(DBAPIError, match="two users of one tenant hold the same audio"):
            migrate.downgrade(scratch_database, app_role=APP_ROLE, revision="0002")
        assert _version(scratch_database) == "0003"
        with _as_tenant(scratch_database, tenant) as conn:
            assert conn.execute("SELECT count(*) FROM audio_recordings").fetchone() == (2,)
            conn.execute("DELETE FROM audio_recordings WHERE user_id = %s", (users[1],))
        migrate.downgrade(scratch_database, app_role=APP_ROLE, revision="0002")
        migrate.upgrade(scratch_database, app_role=APP_ROLE)
        assert _version(scratch_database) in migrate.head_revisions()
        with _as_tenant(scratch_database, tenant) as conn:
            assert conn.execute("SELECT count(*) FROM audio_recordings").fetchone() == (1,)


class TestMigration0007:
    def test_rows_before_it_are_mixed_and_a_channel_outside_the_three_is_refused(
        self, scratch_database: str
    ) -> None:
        migrate.upgrade(scratch_database, app_role=APP_ROLE, revision="0006")
        tenant, user = uuid.uuid4(), uuid.uuid4()
        with _as_tenant(scratch_database, tenant) as conn:
            _clinic(conn, tenant, [user])
            _recording(conn, tenant, user, "ab" * 32)
        migrate.upgrade(scratch_database, app_role=APP_ROLE, revision="0007")
        with _as_tenant(scratch_database, tenant) as conn:
            assert conn.execute("SELECT channel FROM audio_recordings").fetchall() == [("mix",)]
            _recording(conn, tenant, user, "cd" * 32, channel="left")
        with pytest.raises(psycopg.errors.CheckViolation):
            with _as_tenant(scratch_database, tenant) as conn:
                _recording(conn, tenant, user, "ef" * 32, channel="centre")

    def test_downgrade_refuses_while_an_uploader_holds_the_same_bytes_twice(
        self, scratch_database: str
    ) -> None:
        migrate.upgrade(scratch_database, app_role=APP_ROLE, revision="0007")
        tenant, user = uuid.uuid4(), uuid.uuid4()
        with _as_tenant(scratch_database, tenant) as conn:
            _clinic(conn, tenant, [user])
            for channel in ("left", "right"):
                _recording(conn, tenant, user, "ab" * 32, channel=channel)
        with pytest.raises(DBAPIError, match="holds the same audio under two channels"):
            migrate.downgrade(scratch_database, app_role=APP_ROLE, revision="0006")
        assert _version(scratch_database) == "0007"
        with _as_tenant(scratch_database, tenant) as conn:
            conn.execute("DELETE FROM audio_recordings WHERE channel = 'right'")
        migrate.downgrade(scratch_database, app_role=APP_ROLE, revision="0006")
        assert _version(scratch_database) == "0006"
        migrate.upgrade(scratch_database, app_role=APP_ROLE)
        with _as_tenant(scratch_database, tenant) as conn:
            assert conn.execute("SELECT channel FROM audio_recordings").fetchall() == [("mix",)]


SEGMENTS = [
    {
        "start": 0.0,
        "end": 1.2,
        "text": "I I want",
        "words": [
            {"word": "I", "start": 0.0, "end": 0.2, "probability": 0.9},
            {"word": "I", "start": 0.3, "end": 0.5, "probability": 0.9},
            {"word": "want", "start": 0.6, "end": 1.2, "probability": 0.9},
        ],
    }
]
EVENT = {"type": "repetition", "subtype": "whole_word", "text": "I I", "start": 0.0, "end": 0.5}
DOUBTFUL = {"type": "interjection", "subtype": None, "text": "um", "start": 0.9, "end": 1.0}
METRICS = {"percent_syllables_stuttered": 33.33, "disfluencies": [EVENT], "to_review": [DOUBTFUL]}


class TestMigration0004:
    def test_processed_recordings_keep_their_data_and_gain_an_automatic_annotation(
        self, scratch_database: str
    ) -> None:
        """Data written at 0003 by the app is intact at head; each processed recording has
        annotation version 1 (its words, its report's events, confident and to review) and its
        report is the automatic one."""
        migrate.upgrade(scratch_database, app_role=APP_ROLE, revision="0003")
        tenant, user = uuid.uuid4(), uuid.uuid4()
        with _as_tenant(scratch_database, tenant) as conn:
            _clinic(conn, tenant, [user])
            recording = _recording(conn, tenant, user, "cd" * 32)
            pending = _recording(conn, tenant, user, "ef" * 32)
            conn.execute(
                "INSERT INTO transcriptions (tenant_id, recording_id, text, language, backend, "
                "model, segments, chunks) VALUES (%s, %s, 'I I want', 'en', 'local', 'tiny.en', "
                "%s, '[]')",
                (tenant, recording, json.dumps(SEGMENTS)),
            )
            conn.execute(
                "INSERT INTO reports (tenant_id, recording_id, type, language, generator, "
                "metrics, content_markdown) VALUES (%s, %s, 'fluency_analysis', 'en', "
                "'template', %s, '# Report')",
                (tenant, recording, json.dumps(METRICS)),
            )

        migrate.upgrade(scratch_database, app_role=APP_ROLE)

        with _as_tenant(scratch_database, tenant) as conn:
            rows = conn.execute(
                "SELECT id, sha256, status, client_id FROM audio_recordings ORDER BY sha256"
            ).fetchall()
            assert rows == [
                (recording, "cd" * 32, "processed", None),
                (pending, "ef" * 32, "processed", None),
            ]
            text = conn.execute("SELECT text, segments FROM transcriptions").fetchone()
            assert text == ("I I want", SEGMENTS)
            report = conn.execute(
                "SELECT automatic, status, content_markdown, metrics FROM reports"
            ).fetchone()
            assert report == (True, "ready", "# Report", METRICS)
            annotations = conn.execute(
                "SELECT recording_id, version, segments, events, metrics, reviewed_by "
                "FROM annotations"
            ).fetchall()
            assert annotations == [
                (
                    recording,
                    1,
                    SEGMENTS,
                    [{**EVENT, "to_review": False}, {**DOUBTFUL, "to_review": True}],
                    METRICS,
                    None,
                )
            ]
