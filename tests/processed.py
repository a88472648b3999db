"""Recordings seeded through the repositories as the pipeline leaves them — transcript, automatic
report and annotation version 1 stored by ``recordings.store_results`` — for tests of what
happens after processing (review, reports), which does not depend on transcription.

Tests of review and reports import from here and from tests/support.py only.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from db.models import AudioRecording, AuditEvent, RecordingStatus
from db.repositories import audit, recordings
from db.repositories.audit import Action
from db.session import Sessions, TenantId, make_engine, make_sessions, tenant_session
from deployments.report_generator import ReportGenerator
from fluently.settings import Settings
from pipelines.report import ReportLanguage, ReportType
from pipelines.types import Segment, Transcript, Word
from tests.support import Account

SPEECH = (
    Segment.from_words(
        [Word("I", 0.0, 0.2), Word("I", 0.3, 0.5), Word("want", 0.6, 0.9), Word("um", 1.0, 1.3)]
    ),
    Segment.from_words(
        [
            Word("to", 1.4, 1.5),
            Word("go", 1.6, 1.8),
            Word("home", 3.0, 3.5),
            Word("today", 3.6, 4.2),
        ]
    ),
)
"""I(1) I(-) want(1) um(1) to(1) go(1) [1.2 s] home(1) today(2). Detection finds the repeated
"I" (stuttering-like), the "um" and the silent block before "home": %SS 2/8."""
DURATION_S = 5.0


@asynccontextmanager
async def seeding_sessions(settings: Settings) -> AsyncIterator[Sessions]:
    """Tenant-scoped sessions as the app role, on the database ``settings`` names."""
    assert settings.database_url is not None
    engine = make_engine(settings.database_url.get_secret_value(), pool_size=2)
    try:
        yield make_sessions(engine)
    finally:
        await engine.dispose()


def _recording(account: Account, status: RecordingStatus) -> AudioRecording:
    tenant_id, recording_id = uuid.UUID(account.user["tenant_id"]), uuid.uuid4()
    return AudioRecording(
        id=recording_id,
        tenant_id=tenant_id,
        user_id=uuid.UUID(account.user["id"]),
        filename="session.wav",
        content_type="audio/wav",
        storage_key=f"{tenant_id}/{recording_id}",
        sha256=uuid.uuid4().hex * 2,
        size_bytes=160_000,
        duration_s=DURATION_S,
        codec="pcm_s16le",
        status=status.value,
        chunks_done=0,
        chunks_total=0,
        language="en",
        report_type=ReportType.fluency_analysis.value,
        report_language=ReportLanguage.en.value,
    )


async def seed_processed(
    sessions: Sessions,
    account: Account,
    *,
    segments: Sequence[Segment] = SPEECH,
    coverage: Mapping[str, Any] | None = None,
) -> uuid.UUID:
    """A recording of ``account``'s, processed: its results stored as the job loop stores them.
    ``coverage`` is the transcript's (``pipelines.coverage.Coverage.to_dict``), none by default.
    """
    recording = _recording(account, RecordingStatus.processing)
    async with tenant_session(sessions, TenantId(recording.tenant_id)) as session:
        await recordings.create(session, recording=recording)
    await store_again(sessions, account, recording.id, segments, coverage)
    return recording.id


async def store_again(
    sessions: Sessions,
    account: Account,
    recording_id: uuid.UUID,
    segments: Sequence[Segment],
    coverage: Mapping[str, Any] | None = None,
) -> None:
    """Store a processing run's results for the recording, as ``JobRecordingStore.finish``."""
    transcript = Transcript(
        text=" ".join(s.text for s in segments),
        language="en",
        backend="seeded",
        model="seeded",
        segments=tuple(segments),
        coverage=dict(coverage or {}),
    )
    report = ReportGenerator([]).generate(
        transcript=transcript,
        duration_s=DURATION_S,
        report_type=ReportType.fluency_analysis,
        language=ReportLanguage.en,
    )
    tenant_id = TenantId(uuid.UUID(account.user["tenant_id"]))
    async with tenant_session(sessions, tenant_id) as session:
        await recordings.store_results(
            session,
            tenant_id=tenant_id,
            recording_id=recording_id,
            transcript=transcript.to_dict(),
            report=report.to_dict(),
            duration_s=DURATION_S,
        )


async def seed_pending(sessions: Sessions, account: Account) -> uuid.UUID:
    """A recording of ``account``'s that is not processed yet."""
    recording = _recording(account, RecordingStatus.pending)
    async with tenant_session(sessions, TenantId(recording.tenant_id)) as session:
        await recordings.create(session, recording=recording)
    return recording.id


async def audit_rows(
    sessions: Sessions, account: Account, action: Action, target_id: uuid.UUID
) -> list[AuditEvent]:
    """The account's clinic's audit entries of one action about one target, newest first."""
    tenant_id = TenantId(uuid.UUID(account.user["tenant_id"]))
    async with tenant_session(sessions, tenant_id) as session:
        rows = await audit.page(
            session, tenant_id=tenant_id, action=action, before_id=None, limit=100
        )
    return [row for row in rows if row.target_id == str(target_id)]
