"""Recording logic: accept an upload, list, read, play, follow and delete recordings.

Takes the request's tenant session and never commits; only ``follow``, which outlives the
request, opens short transactions of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AudioRecording, Queue, RecordingStatus
from db.repositories import annotations as annotation_versions
from db.repositories import jobs, recordings
from db.repositories.recordings import RecordingDetail, Viewer
from db.session import Sessions, tenant_session
from fluently.errors import Conflict, Forbidden, Gone, NotFound, UnprocessableEntity
from fluently.logging import get_logger
from fluently.settings import JobSettings, Settings
from fluently.storage import StorageProvider
from pipelines.audio import Channel, InvalidAudio, check_channel, probe
from pipelines.media_types import HEAD_BYTES, media_type
from pipelines.report import ReportLanguage, ReportType
from pipelines.types import joined_text
from serve_app.events import RecordingEvents
from serve_app.services import clients, cursors
from serve_app.services.audio import refused
from serve_app.services.choices import choice
from serve_app.services.jobs import revive_its_work
from serve_app.services.languages import TranscriptionLanguages, parse_language
from serve_app.uploads import ReceivedUpload

log = get_logger("recordings")


UPLOAD_FIELDS = frozenset(
    {"language", "report_type", "report_language", "channel", "client_id", "recorded_at", "task"}
)
"""The form fields ``POST /audio_recordings`` takes beside ``file``."""


def validate_fields(fields: dict[str, str]) -> dict[str, str]:
    """The processing options of an upload's ``fields``; 422 ``unknown_field`` for a field the
    route does not take, as unknown JSON fields and query parameters are refused: a misspelt
    ``report_langauge=pt`` must not quietly give an English report."""
    unknown = sorted(set(fields) - UPLOAD_FIELDS)
    if unknown:
        raise UnprocessableEntity(
            f"unknown form field(s): {', '.join(repr(u) for u in unknown)}; "
            f"this route takes: file, {', '.join(sorted(UPLOAD_FIELDS))}",
            code="unknown_field",
        )
    return {
        "language": parse_language(fields.get("language")) or "en",
        "report_type": choice(fields.get("report_type"), ReportType, "report_type").value,
        "report_language": choice(
            fields.get("report_language"), ReportLanguage, "report_language"
        ).value,
        "channel": choice(fields.get("channel"), Channel, "channel").value,
    }


def processing_queue(duration_s: float, *, settings: JobSettings) -> Queue:
    """``critical`` for a short recording (``jobs.critical_max_duration_s``), whose result is
    seconds away and usually awaited; ``default`` for a longer one."""
    return Queue.critical if duration_s <= settings.critical_max_duration_s else Queue.default


async def accept_upload(
    session: AsyncSession,
    *,
    viewer: Viewer,
    upload: ReceivedUpload,
    settings: Settings,
    storage: StorageProvider,
    languages: TranscriptionLanguages,
) -> tuple[AudioRecording, bool]:
    """Store a new recording and enqueue its processing; ``(recording, queued)``: ``queued``
    when this upload started processing.

    Bytes the caller already uploaded, to be heard on the same ``channel`` (another channel is
    another speaker, so another recording), give back that recording; an admin is also given a
    recording of the same bytes by anyone in the tenant (all of which they may read). A member
    is never given another user's recording: they get a new one of their own. Given back, the
    upload is a retry: its options must not say otherwise (``_same_options``), and a recording
    that failed is processed again (``_process_again``).
    """
    options = validate_fields(upload.fields)
    about = await clients.session_fields(
        session, viewer=viewer, fields=upload.fields, now=datetime.now(UTC)
    )
    await languages.check(options["language"])
    if upload.size == 0:
        raise UnprocessableEntity("the file is empty", code="empty_file")
    existing = await recordings.find_visible_by_sha256(
        session, viewer=viewer, sha256=upload.sha256, channel=options["channel"]
    )
    if existing is not None:
        _same_options(existing, upload.fields, options, about)
        if existing.status != RecordingStatus.failed.value:
            return existing, False
        queued = await _process_again(session, existing, upload=upload, storage=storage)
        return existing, queued
    try:
        info = await asyncio.to_thread(
            probe, upload.path, max_duration_s=settings.upload.max_duration_s
        )
        check_channel(Channel(options["channel"]), info.channels)
    except InvalidAudio as exc:
        raise refused(exc) from exc

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
        client_id=about.client_id,
        recorded_at=about.recorded_at,
        task=about.task,
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
                queue=processing_queue(info.duration_s, settings=settings.jobs),
                max_attempts=settings.jobs.max_attempts,
            )
    except IntegrityError:
        # The same caller uploaded the same bytes concurrently and committed first (the
        # unique key is per uploader); theirs is now visible, and is the caller's own.
        await asyncio.to_thread(storage.delete, key)
        existing = await recordings.find_visible_by_sha256(
            session, viewer=viewer, sha256=upload.sha256, channel=options["channel"]
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


def _same_options(
    existing: AudioRecording,
    fields: dict[str, str],
    options: dict[str, str],
    about: clients.SessionFields,
) -> None:
    """409 ``duplicate_recording`` (``Location``: that recording) when an upload of bytes already
    stored sets an option to something else than that recording has: handing it back would
    silently drop what was asked (another client, another report language). Options the upload
    leaves out are not compared: a retry need not repeat them; nor is ``recorded_at``, which a
    client fills with "now" by default, so a retry from a reloaded form sends another one."""
    asked: dict[str, object] = {**options, "client_id": about.client_id, "task": about.task}
    differing = [
        name
        for name in sorted(asked)
        if fields.get(name) and asked[name] != getattr(existing, name)
    ]
    if differing:
        raise Conflict(
            f"these bytes are already recording {existing.id}, whose "
            + ", ".join(f"{name} is {getattr(existing, name) or 'not set'}" for name in differing)
            + "; a report of another type or language is POST "
            f"/audio_recordings/{existing.id}/reports, and another client's session needs its "
            "own recording",
            code="duplicate_recording",
            location=f"/audio_recordings/{existing.id}",
        )


async def _process_again(
    session: AsyncSession,
    recording: AudioRecording,
    *,
    upload: ReceivedUpload,
    storage: StorageProvider,
) -> bool:
    """A failed recording uploaded again is processed again, as an admin's retry of its dead
    job would (``revive_its_work``); audio that retention removed meanwhile is stored again
    from the upload. False, and nothing changed, when it has no dead job to queue."""
    job = await jobs.requeue_dead_process(session, recording_id=recording.id)
    if job is None:
        return False
    await revive_its_work(session, job)
    if recording.audio_deleted_at is not None:
        await asyncio.to_thread(storage.put_file, recording.storage_key, upload.path)
        await recordings.restore_audio(session, recording_id=recording.id)
    await session.refresh(recording)
    log.info("failed recording uploaded again", extra={"recording_id": str(recording.id)})
    return True


@dataclass(frozen=True, slots=True)
class RecordingList:
    """One page of recordings, newest first."""

    recordings: list[AudioRecording]
    next_cursor: str | None
    """Where the next page starts; None on the last page."""


async def list_recordings(
    session: AsyncSession, *, viewer: Viewer, limit: int, cursor: str | None
) -> RecordingList:
    """Up to ``limit`` recordings after the page ``cursor`` ended; 400 ``invalid_cursor`` when
    ``cursor`` is not one this service made."""
    before = cursors.decode(cursor) if cursor else None
    rows = await recordings.list_page(session, viewer=viewer, limit=limit + 1, before=before)
    page, more = rows[:limit], len(rows) > limit
    last = page[-1] if more and page else None
    return RecordingList(
        recordings=page, next_cursor=cursors.encode(last.created_at, last.id) if last else None
    )


async def get_recording(
    session: AsyncSession, *, viewer: Viewer, recording_id: uuid.UUID
) -> AudioRecording:
    """The recording alone; 404 unless ``viewer`` may see it."""
    recording = await recordings.get(session, viewer=viewer, recording_id=recording_id)
    if recording is None:
        raise NotFound("recording not found")
    return recording


async def get_detail(
    session: AsyncSession, *, viewer: Viewer, recording_id: uuid.UUID
) -> RecordingDetail:
    """The recording with its transcript and report, once they exist; 404 unless visible."""
    detail = await recordings.get_detail(session, viewer=viewer, recording_id=recording_id)
    if detail is None:
        raise NotFound("recording not found")
    return dataclasses.replace(
        detail, transcript=await _reviewed(session, recording_id, detail.transcript)
    )


async def get_transcript(
    session: AsyncSession, *, viewer: Viewer, recording_id: uuid.UUID
) -> dict[str, Any]:
    """The transcript (``Transcript.to_dict``'s shape, words as reviewed: ``with_review``);
    404 unless visible, 409 ``transcript_not_ready`` until the pipeline has stored it."""
    await get_recording(session, viewer=viewer, recording_id=recording_id)
    stored = await recordings.transcript_of(session, recording_id=recording_id)
    return _ready(await _reviewed(session, recording_id, stored), "transcript")


async def _reviewed(
    session: AsyncSession, recording_id: uuid.UUID, transcript: dict[str, Any] | None
) -> dict[str, Any] | None:
    """``with_review`` of the recording's latest review, read only once there is a transcript
    (a recording still processing is polled often)."""
    if transcript is None:
        return None
    return with_review(
        transcript, await annotation_versions.latest_review(session, recording_id=recording_id)
    )


def with_review(
    transcript: dict[str, Any], review: tuple[int, list[dict[str, Any]]] | None
) -> dict[str, Any]:
    """``transcript`` with the words of ``review`` (version, segments), the latest version a
    clinician saved: the words they corrected are the record, as the metrics already are.
    ``reviewed_version`` names it; everything else (backend, model, coverage) stays what the
    pipeline stored. Unchanged without a review."""
    if review is None:
        return transcript
    version, segments = review
    return {
        **transcript,
        "text": joined_text(str(s["text"]) for s in segments),
        "segments": segments,
        "reviewed_version": version,
    }


async def get_report(
    session: AsyncSession, *, viewer: Viewer, recording_id: uuid.UUID
) -> dict[str, Any]:
    """The report as stored (``FluencyReport.to_dict``'s shape); 404 unless visible, 409
    ``report_not_ready`` until the pipeline has stored it."""
    await get_recording(session, viewer=viewer, recording_id=recording_id)
    return _ready(await recordings.report_of(session, recording_id=recording_id), "report")


def _ready(stored: dict[str, Any] | None, what: str) -> dict[str, Any]:
    if stored is None:
        raise Conflict(f"the {what} is not ready yet", code=f"{what}_not_ready")
    return stored


@dataclass(frozen=True, slots=True)
class StoredAudio:
    """A recording's audio as it was uploaded, ready to be sent."""

    key: str
    size: int
    media_type: str
    """What its bytes show (``pipelines.media_types``), never what the uploader claimed."""
    sha256: str


async def stored_audio(
    session: AsyncSession, *, viewer: Viewer, recording_id: uuid.UUID, storage: StorageProvider
) -> StoredAudio:
    """The recording's stored audio; 404 unless visible, 410 ``audio_deleted`` once retention
    (or anything else) removed it while its transcript and reports stay."""
    recording = await get_recording(session, viewer=viewer, recording_id=recording_id)
    gone = Gone(
        "the audio of this recording was deleted under the clinic's retention period; its "
        "transcript, annotations and reports remain",
        code="audio_deleted",
    )
    if recording.audio_deleted_at is not None:
        raise gone
    try:
        head = await asyncio.to_thread(_head, storage, recording.storage_key)
    except KeyError:
        # Retention deletes the object before it marks the row: this is that moment.
        raise gone from None
    return StoredAudio(
        key=recording.storage_key,
        size=recording.size_bytes,
        media_type=media_type(head),
        sha256=recording.sha256,
    )


def _head(storage: StorageProvider, key: str) -> bytes:
    pieces = storage.read_chunks(key, stop=HEAD_BYTES)
    try:
        return next(pieces, b"")
    finally:
        pieces.close()


async def audio_bytes(
    storage: StorageProvider, *, key: str, start: int, stop: int
) -> AsyncIterator[bytes]:
    """Bytes ``start`` to ``stop`` (exclusive) of the stored audio, a storage piece at a time."""
    pieces = storage.read_chunks(key, start=start, stop=stop)
    try:
        while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
            yield piece
    finally:
        pieces.close()


@dataclass(frozen=True, slots=True)
class RecordingProgress:
    """What a client following a recording is told: where its processing stands."""

    status: str
    chunks_done: int
    chunks_total: int
    error: str | None


async def follow(
    sessions: Sessions,
    events: RecordingEvents,
    *,
    viewer: Viewer,
    recording_id: uuid.UUID,
    poll_interval_s: float,
) -> AsyncGenerator[RecordingProgress | None, None]:
    """The recording's progress now and after every change; ends after a terminal status, or
    with ``None`` once the recording is gone.

    It outlives the request's transaction, so each read is a short tenant-scoped transaction
    of its own. A NOTIFY wakes it; ``poll_interval_s`` bounds how stale a lost one leaves it.
    """
    wake = events.subscribe(recording_id)
    try:
        last: RecordingProgress | None = None
        while True:
            async with tenant_session(sessions, viewer.tenant_id) as session:
                rec = await recordings.get(session, viewer=viewer, recording_id=recording_id)
            if rec is None:
                yield None
                return
            current = RecordingProgress(
                status=rec.status,
                chunks_done=rec.chunks_done,
                chunks_total=rec.chunks_total,
                error=rec.error or None,
            )
            if current != last:
                yield current
                last = current
            if RecordingStatus(rec.status).is_terminal:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.get(), timeout=poll_interval_s)
    finally:
        events.unsubscribe(recording_id, wake)


async def delete(
    session: AsyncSession, *, viewer: Viewer, recording_id: uuid.UUID, storage: StorageProvider
) -> None:
    """Uploaders and admins delete; a member who sees a colleague's session of an assigned
    client gets 403, anyone else 404."""
    key = await recordings.delete_recording(session, viewer=viewer, recording_id=recording_id)
    if key is None:
        await get_recording(session, viewer=viewer, recording_id=recording_id)
        raise Forbidden("only the uploader or an admin may delete this recording")
    await session.flush()
    await asyncio.to_thread(storage.delete, key)
