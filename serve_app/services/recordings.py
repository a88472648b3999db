"""Recording logic: accept an upload, describe a recording, delete one. Never commits."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AudioRecording, Queue, RecordingStatus
from db.repositories import jobs, recordings
from db.repositories.recordings import RecordingDetail, Viewer
from fluently.errors import BadRequest, NotFound, PayloadTooLarge, UnprocessableEntity
from fluently.logging import get_logger
from fluently.settings import Settings
from fluently.storage import StorageProvider
from pipelines.audio import InvalidAudio, probe
from serve_app.schemas import Progress, RecordingOut, ReportLanguage, ReportType
from serve_app.services.languages import TranscriptionLanguages, parse_language
from serve_app.uploads import ReceivedUpload

log = get_logger("recordings")


def _choice(value: str | None, enum: type[ReportType] | type[ReportLanguage], name: str) -> str:
    if value is None or value == "":
        return next(iter(enum)).value
    try:
        return enum(value).value
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise UnprocessableEntity(
            f"{name} must be one of: {allowed}", code=f"invalid_{name}"
        ) from None


def validate_fields(fields: dict[str, str]) -> dict[str, str]:
    return {
        "language": parse_language(fields.get("language")) or "en",
        "report_type": _choice(fields.get("report_type"), ReportType, "report_type"),
        "report_language": _choice(
            fields.get("report_language"), ReportLanguage, "report_language"
        ),
    }


async def accept_upload(
    session: AsyncSession,
    *,
    viewer: Viewer,
    upload: ReceivedUpload,
    settings: Settings,
    storage: StorageProvider,
    languages: TranscriptionLanguages,
) -> tuple[AudioRecording, bool]:
    """Store a new recording and enqueue its processing; ``(recording, created)``.

    The same bytes uploaded twice in one tenant give back the first recording.
    """
    options = validate_fields(upload.fields)
    await languages.check(options["language"])
    if upload.size == 0:
        raise UnprocessableEntity("the file is empty", code="empty_file")
    existing = await recordings.find_by_sha256(
        session, tenant_id=viewer.tenant_id, sha256=upload.sha256
    )
    if existing is not None:
        return existing, False
    try:
        info = await asyncio.to_thread(
            probe, upload.path, max_duration_s=settings.upload.max_duration_s
        )
    except InvalidAudio as exc:
        if exc.code == "too_long":
            raise PayloadTooLarge(str(exc), code="audio_too_long") from exc
        raise UnprocessableEntity(str(exc), code=exc.code) from exc

    recording_id = uuid.uuid4()
    key = f"{viewer.tenant_id}/{recording_id}"
    await asyncio.to_thread(storage.put_file, key, upload.path)
    recording = AudioRecording(
        id=recording_id,
        tenant_id=viewer.tenant_id,
        user_id=viewer.user_id,
        filename=(upload.filename or None) and upload.filename[:512],
        content_type=upload.content_type,
        storage_key=key,
        sha256=upload.sha256,
        size_bytes=upload.size,
        duration_s=info.duration_s,
        codec=info.codec,
        status=RecordingStatus.pending.value,
        chunks_done=0,
        chunks_total=0,
        **options,
    )
    try:
        async with session.begin_nested():
            await recordings.create(session, recording=recording)
            await jobs.enqueue(
                session,
                tenant_id=viewer.tenant_id,
                recording_id=recording_id,
                kind=jobs.PROCESS_RECORDING,
                queue=Queue.default,
                max_attempts=settings.jobs.max_attempts,
            )
    except IntegrityError:
        await asyncio.to_thread(storage.delete, key)
        existing = await recordings.find_by_sha256(
            session, tenant_id=viewer.tenant_id, sha256=upload.sha256
        )
        if existing is None:
            raise
        return existing, False
    except BaseException:
        await asyncio.to_thread(storage.delete, key)
        raise
    log.info(
        "recording accepted",
        extra={"recording_id": str(recording_id), "duration_s": info.duration_s},
    )
    return recording, True


def describe(detail: RecordingDetail) -> RecordingOut:
    rec = detail.recording
    transcript: dict[str, Any] | None = None
    if detail.transcription is not None:
        t = detail.transcription
        transcript = {
            "text": t.text,
            "language": t.language,
            "backend": t.backend,
            "model": t.model,
            "segments": t.segments,
            "chunks": t.chunks,
            "coverage": t.coverage,
        }
    report: dict[str, Any] | None = None
    if detail.report is not None:
        r = detail.report
        report = {
            "type": r.type,
            "language": r.language,
            "generator": r.generator,
            "metrics": r.metrics,
            "content_markdown": r.content_markdown,
        }
    return RecordingOut(
        id=rec.id,
        status=rec.status,
        filename=rec.filename,
        duration_s=rec.duration_s,
        created_at=rec.created_at,
        updated_at=rec.updated_at,
        progress=Progress(chunks_done=rec.chunks_done, chunks_total=rec.chunks_total),
        error=rec.error,
        transcript=transcript,
        report=report,
    )


async def get_detail(
    session: AsyncSession, *, viewer: Viewer, recording_id: uuid.UUID
) -> RecordingDetail:
    detail = await recordings.get_detail(session, viewer=viewer, recording_id=recording_id)
    if detail is None:
        raise NotFound("recording not found")
    return detail


def encode_cursor(recording: AudioRecording) -> str:
    raw = f"{recording.created_at.isoformat()}|{recording.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, ident = raw.split("|", 1)
        return datetime.fromisoformat(created), uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("cursor is not valid", code="invalid_cursor") from exc


async def delete(
    session: AsyncSession, *, viewer: Viewer, recording_id: uuid.UUID, storage: StorageProvider
) -> None:
    key = await recordings.delete_recording(session, viewer=viewer, recording_id=recording_id)
    if key is None:
        raise NotFound("recording not found")
    await session.flush()
    await asyncio.to_thread(storage.delete, key)
