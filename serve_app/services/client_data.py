"""A client's data as a whole: the export a client (or their family) is entitled to, and the
erasure of everything the clinic holds about them.

Who may: an export is for whoever sees the client (admins, assigned members); erasure is for
admins only. A client the caller cannot see answers 404 either way, before any 403, so ids leak
nothing.

**Export** streams a zip: per session the audio (unless retention removed it), the transcript
(txt, json, srt, vtt), every annotation version and every report (md and json), then
``manifest.json`` with the client's fields, the sessions, their annotation versions and the
SHA-256 of every file. The request's transaction only checks access and writes the audit
entry; the stream then reads one session at a time in short transactions of its own and the
audio in ``fluently.storage.CHUNK_SIZE`` pieces, so memory stays flat however large the record.

**Erasure** deletes the audio objects first and the rows after, in the request's transaction,
with the client row locked. A crash or failed commit in between leaves the client in place
with audio already gone, and erasing again finishes the job; the other order could leave audio
of an erased client that nothing points at any more. Audit entries stay: they hold ids only.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Annotation, AudioRecording, Client, Report
from db.repositories import client_data, recordings
from db.repositories.annotations import AUTOMATIC_VERSION
from db.repositories.recordings import Viewer
from db.session import Sessions, TenantId, tenant_session
from fluently.errors import Forbidden
from fluently.logging import get_logger
from fluently.storage import StorageProvider
from pipelines import exports
from pipelines.types import Transcript
from serve_app.services.audit import Action, Auditor
from serve_app.services.clients import visible_client
from serve_app.services.recordings import with_review
from serve_app.services.zip_stream import Member, ZipStream

log = get_logger("client_data")

MANIFEST_FORMAT = "fluently-client-export/1"
_AUDIO_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}")
_TEXT_EXPORTS = {"txt": exports.to_txt, "srt": exports.to_srt, "vtt": exports.to_vtt}


@dataclass(frozen=True, slots=True)
class ClientExport:
    """A zip on its way: ``chunks`` makes it as it is read."""

    filename: str
    chunks: AsyncIterator[bytes]


async def export_client(
    session: AsyncSession,
    *,
    viewer: Viewer,
    auditor: Auditor,
    client_id: uuid.UUID,
    sessions: Sessions,
    storage: StorageProvider,
) -> ClientExport:
    """Check access and record the export in the request's transaction; the archive itself is
    made while the response streams (``_archive``)."""
    client = await visible_client(session, viewer=viewer, client_id=client_id)
    ids = await client_data.recording_ids(session, client_id=client.id)
    await auditor.record_by(
        session,
        viewer,
        action=Action.client_exported,
        target_type="client",
        target_id=client.id,
        details={"recordings": len(ids)},
    )
    return ClientExport(
        filename=f"client-{client.id}.zip",
        chunks=_archive(
            sessions, storage, tenant_id=viewer.tenant_id, client=_client_fields(client), ids=ids
        ),
    )


async def erase_client(
    session: AsyncSession,
    *,
    viewer: Viewer,
    auditor: Auditor,
    client_id: uuid.UUID,
    storage: StorageProvider,
) -> None:
    """Erase the client and everything about them (admins; 404 before 403)."""
    await visible_client(session, viewer=viewer, client_id=client_id)
    if not viewer.is_admin:
        raise Forbidden("only admins erase a client")
    if (
        await client_data.lock_client(session, tenant_id=viewer.tenant_id, client_id=client_id)
        is None
    ):
        # Erased by a concurrent request while this one waited for the lock.
        return
    keys = await client_data.storage_keys(session, client_id=client_id)
    for key in keys:
        await asyncio.to_thread(storage.delete, key)
    recordings_erased = await client_data.erase_client(
        session, tenant_id=viewer.tenant_id, client_id=client_id
    )
    await auditor.record_by(
        session,
        viewer,
        action=Action.client_erased,
        target_type="client",
        target_id=client_id,
        details={"recordings": recordings_erased},
    )
    log.info("client erased", extra={"client_id": str(client_id), "recordings": recordings_erased})


# The archive


@dataclass
class _Manifest:
    client: dict[str, Any]
    generated_at: datetime
    recordings: list[dict[str, Any]] = field(default_factory=list)
    files: list[Member] = field(default_factory=list)

    def to_json(self) -> bytes:
        body = {
            "format": MANIFEST_FORMAT,
            "generated_at": self.generated_at.isoformat(),
            "client": self.client,
            "recordings": self.recordings,
            "files": [
                {"path": m.path, "sha256": m.sha256, "size_bytes": m.size_bytes} for m in self.files
            ],
        }
        return _json(body)


@dataclass(frozen=True, slots=True)
class _Session:
    """What one recording contributes, read in one short transaction."""

    recording: AudioRecording
    transcript: dict[str, Any] | None
    annotations: list[Annotation]
    reports: list[Report]


async def _archive(
    sessions: Sessions,
    storage: StorageProvider,
    *,
    tenant_id: TenantId,
    client: dict[str, Any],
    ids: list[uuid.UUID],
) -> AsyncIterator[bytes]:
    generated_at = datetime.now(UTC)
    archive = ZipStream(modified=generated_at)
    manifest = _Manifest(client=client, generated_at=generated_at)
    for recording_id in ids:
        found = await _read_session(
            sessions,
            tenant_id=tenant_id,
            client_id=uuid.UUID(client["id"]),
            recording_id=recording_id,
        )
        if found is None:
            continue  # deleted since the export began
        folder = f"recordings/{recording_id}"
        audio_path: str | None = None
        if found.recording.audio_deleted_at is None:
            path = f"{folder}/audio{_audio_suffix(found.recording.filename)}"
            async for piece in _audio_member(
                archive, storage, found.recording, path, manifest.files
            ):
                yield piece
            if manifest.files and manifest.files[-1].path == path:
                audio_path = path
        for path, data in _documents(folder, found):
            manifest.files.append(archive.add(path, data))
            yield archive.take()
        manifest.recordings.append(_recording_entry(found, audio_path))
    archive.add("manifest.json", manifest.to_json())
    yield archive.finish()


async def _read_session(
    sessions: Sessions, *, tenant_id: TenantId, client_id: uuid.UUID, recording_id: uuid.UUID
) -> _Session | None:
    async with tenant_session(sessions, tenant_id) as session:
        recording = await client_data.recording_of_client(
            session, client_id=client_id, recording_id=recording_id
        )
        if recording is None:
            return None
        annotations = list(
            await client_data.annotation_versions(session, recording_id=recording_id)
        )
        stored = await recordings.transcript_of(session, recording_id=recording_id)
        # The latest version (oldest first) is the transcript's words once a clinician saved it.
        latest = annotations[-1] if annotations else None
        review = (
            (latest.version, latest.segments)
            if latest is not None and latest.version > AUTOMATIC_VERSION
            else None
        )
        return _Session(
            recording=recording,
            transcript=None if stored is None else with_review(stored, review),
            annotations=annotations,
            reports=list(await client_data.reports(session, recording_id=recording_id)),
        )


async def _audio_member(
    archive: ZipStream,
    storage: StorageProvider,
    recording: AudioRecording,
    path: str,
    files: list[Member],
) -> AsyncIterator[bytes]:
    """The recording's audio as a stored (uncompressed) member, read piece by piece; appends
    the member to ``files``, or nothing when the object is missing."""
    pieces = storage.read_chunks(recording.storage_key)
    try:
        try:
            first = await asyncio.to_thread(next, pieces, None)
        except KeyError:
            log.warning("audio missing from storage", extra={"recording_id": str(recording.id)})
            return
        writer = archive.begin(path, compress=False, size_hint=recording.size_bytes)
        piece = first
        while piece is not None:
            writer.write(piece)
            yield archive.take()
            piece = await asyncio.to_thread(next, pieces, None)
        files.append(writer.close())
        yield archive.take()
    finally:
        pieces.close()


def _documents(folder: str, found: _Session) -> list[tuple[str, bytes]]:
    """The session's text members: transcript exports, annotation versions, reports."""
    documents: list[tuple[str, bytes]] = []
    if found.transcript is not None:
        documents.append((f"{folder}/transcript.json", _json(found.transcript)))
        transcript = Transcript.from_dict(found.transcript)
        for suffix, render in _TEXT_EXPORTS.items():
            documents.append((f"{folder}/transcript.{suffix}", render(transcript).encode()))
    for annotation in found.annotations:
        documents.append(
            (f"{folder}/annotations/v{annotation.version}.json", _json(_annotation(annotation)))
        )
    for report in found.reports:
        documents.append((f"{folder}/reports/{report.id}.json", _json(_report(report))))
        if report.content_markdown is not None:
            documents.append((f"{folder}/reports/{report.id}.md", report.content_markdown.encode()))
    return documents


def _client_fields(client: Client) -> dict[str, Any]:
    return {
        "id": str(client.id),
        "display_name": client.display_name,
        "external_ref": client.external_ref,
        "date_of_birth": _iso(client.date_of_birth),
        "notes": client.notes,
        "created_at": _iso(client.created_at),
        "updated_at": _iso(client.updated_at),
    }


def _recording_entry(found: _Session, audio_path: str | None) -> dict[str, Any]:
    recording = found.recording
    return {
        "id": str(recording.id),
        "filename": recording.filename,
        "recorded_at": _iso(recording.recorded_at or recording.created_at),
        "task": recording.task,
        "language": recording.language,
        "channel": recording.channel,
        "status": recording.status,
        "duration_s": recording.duration_s,
        "uploaded_at": _iso(recording.created_at),
        "uploaded_by": str(recording.user_id),
        "audio": audio_path,
        "audio_deleted_at": _iso(recording.audio_deleted_at),
        "annotation_versions": [a.version for a in found.annotations],
        "reports": [str(r.id) for r in found.reports],
    }


def _annotation(annotation: Annotation) -> dict[str, Any]:
    return {
        "recording_id": str(annotation.recording_id),
        "version": annotation.version,
        "segments": annotation.segments,
        "events": annotation.events,
        "metrics": annotation.metrics,
        "reviewed_by": None if annotation.reviewed_by is None else str(annotation.reviewed_by),
        "reviewed_at": _iso(annotation.reviewed_at),
        "created_at": _iso(annotation.created_at),
    }


def _report(report: Report) -> dict[str, Any]:
    return {
        "id": str(report.id),
        "recording_id": str(report.recording_id),
        "type": report.type,
        "language": report.language,
        "status": report.status,
        "automatic": report.automatic,
        "annotation_version": report.annotation_version,
        "generator": report.generator,
        "metrics": report.metrics,
        "content_markdown": report.content_markdown,
        "error": report.error,
        "created_at": _iso(report.created_at),
    }


def _audio_suffix(filename: str | None) -> str:
    """The upload's extension when it is a plain one (``.ogg``), else none: paths inside the
    archive are made from ids, never from what a user typed."""
    suffix = PurePosixPath(filename or "").suffix.lower()
    return suffix if _AUDIO_SUFFIX.fullmatch(suffix) else ""


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode()
