"""Recordings: upload, status (with ETag), list, delete, audio, live events, exports."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from sse_starlette.sse import EventSourceResponse

from db.models import SessionTask
from pipelines import exports
from pipelines.media_types import MEDIA_TYPES
from pipelines.report import ReportLanguage, ReportType
from pipelines.types import Transcript
from serve_app.body_limit import body_limit
from serve_app.byte_ranges import requested_span
from serve_app.deps import (
    AuditDep,
    CurrentViewer,
    RecordingLanguagesDep,
    StateDep,
    TenantSession,
)
from serve_app.etags import matches
from serve_app.openapi import CHANNEL_FIELD, file_responses, text_responses
from serve_app.schemas import RecordingAccepted, RecordingOut, RecordingPage
from serve_app.services import recordings as service
from serve_app.services.audit import Action
from serve_app.services.recordings import RecordingProgress
from serve_app.uploads import closed_multipart_body, receive_upload

router = APIRouter(prefix="/audio_recordings", tags=["recordings"])


@router.post(
    "",
    status_code=202,
    response_model=RecordingAccepted,
    responses={
        200: {
            "description": "The caller already uploaded these bytes (or, for an admin, someone "
            "in the clinic did): that recording"
        }
    },
    openapi_extra=closed_multipart_body(
        language={
            "type": "string",
            "default": "en",
            "description": "What is spoken: an ISO 639-1 code, or 'auto' to let the backend "
            "detect it. 422 invalid_language for anything else, 422 unsupported_language "
            "when no configured backend transcribes it.",
        },
        report_type={"type": "string", "enum": [t.value for t in ReportType]},
        report_language={"type": "string", "enum": [lang.value for lang in ReportLanguage]},
        channel=CHANNEL_FIELD,
        client_id={
            "type": "string",
            "format": "uuid",
            "description": "The client whose session this is (404 client_not_found unless you "
            "see the client).",
        },
        recorded_at={
            "type": "string",
            "format": "date-time",
            "description": "When the session took place, ISO 8601 with a time zone (default: "
            "now). 422 invalid_recorded_at otherwise, or if in the future.",
        },
        task={"type": "string", "enum": [t.value for t in SessionTask]},
    ),
)
@body_limit(None)  # streamed, bounded by receive_upload
async def upload_recording(
    request: Request,
    viewer: CurrentViewer,
    state: StateDep,
    session: TenantSession,
    languages: RecordingLanguagesDep,
) -> JSONResponse:
    """Upload speech (multipart ``file``); processing starts at once. Poll or follow events."""
    settings = state.settings
    async with receive_upload(
        request, tmp_dir=settings.data_dir / "tmp", max_bytes=settings.upload.max_bytes
    ) as upload:
        recording, queued = await service.accept_upload(
            session,
            viewer=viewer,
            upload=upload,
            settings=settings,
            storage=state.storage,
            languages=languages,
        )
    body = RecordingAccepted(recording_id=recording.id, status=recording.status)
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=202 if queued else 200,
        headers={"Location": f"/audio_recordings/{recording.id}"},
    )


@router.get("", response_model=RecordingPage)
async def list_recordings(
    viewer: CurrentViewer,
    session: TenantSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> RecordingPage:
    """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    listed = await service.list_recordings(session, viewer=viewer, limit=limit, cursor=cursor)
    return RecordingPage(
        items=[RecordingOut.of(r) for r in listed.recordings], next_cursor=listed.next_cursor
    )


@router.get("/{recording_id}", response_model=RecordingOut)
async def get_recording(
    recording_id: uuid.UUID,
    request: Request,
    viewer: CurrentViewer,
    session: TenantSession,
    auditor: AuditDep,
) -> Response:
    """Status, progress, transcript and report. Send ``If-None-Match`` to get 304 if unchanged."""
    detail = await service.get_detail(session, viewer=viewer, recording_id=recording_id)
    out = RecordingOut.of(
        detail.recording,
        transcript=detail.transcript,
        report=detail.report,
        metrics=detail.metrics,
    )
    body = out.model_dump_json().encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    if matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    # Audited when the content is sent; a 304 sends nothing new.
    await auditor.record_by(
        session,
        viewer,
        action=Action.recording_read,
        target_type="recording",
        target_id=recording_id,
    )
    return Response(body, media_type="application/json", headers={"ETag": etag})


@router.delete("/{recording_id}", status_code=204)
async def delete_recording(
    recording_id: uuid.UUID,
    viewer: CurrentViewer,
    state: StateDep,
    session: TenantSession,
    auditor: AuditDep,
) -> Response:
    """Delete the recording, its transcript, report, queued work and stored audio."""
    await service.delete(session, viewer=viewer, recording_id=recording_id, storage=state.storage)
    await auditor.record_by(
        session,
        viewer,
        action=Action.recording_deleted,
        target_type="recording",
        target_id=recording_id,
    )
    return Response(status_code=204)


@router.get(
    "/{recording_id}/audio",
    response_class=StreamingResponse,
    responses=file_responses(
        *MEDIA_TYPES,
        errors={
            404: "No such recording, or not yours to see",
            410: "audio_deleted: retention removed the audio (the transcript and reports stay)",
        },
    ),
)
async def get_audio(
    recording_id: uuid.UUID,
    viewer: CurrentViewer,
    state: StateDep,
    session: TenantSession,
    auditor: AuditDep,
    range: Annotated[
        str | None,
        Header(description="One byte range, e.g. ``bytes=65536-``, as a player seeking asks."),
    ] = None,
    if_range: Annotated[
        str | None,
        Header(description="The ``ETag`` a range was read from; another sends the whole file."),
    ] = None,
) -> StreamingResponse:
    """The recording's audio as it was uploaded, streamed, with the media type its bytes show.
    A ``Range`` header (one span) answers 206 with that part, so a player can seek; a range
    starting past the end answers 416. Audited ``audio_read`` when the answer starts at the
    file's first byte, not for every seek."""
    audio = await service.stored_audio(
        session, viewer=viewer, recording_id=recording_id, storage=state.storage
    )
    etag = f'"{audio.sha256}"'
    span = requested_span(range, size=audio.size) if if_range in (None, etag) else None
    start, stop = (span.start, span.stop) if span else (0, audio.size)
    if start == 0:
        await auditor.record_by(
            session,
            viewer,
            action=Action.audio_read,
            target_type="recording",
            target_id=recording_id,
        )
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(stop - start), "ETag": etag}
    if span:
        headers["Content-Range"] = span.content_range(audio.size)
    return StreamingResponse(
        service.audio_bytes(state.storage, key=audio.key, start=start, stop=stop),
        status_code=206 if span else 200,
        media_type=audio.media_type,
        headers=headers,
    )


_STATUS_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["status", "deleted"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
}
"""One Server-Sent Event as OpenAPI describes it: its name and its JSON data."""


@router.get(
    "/{recording_id}/events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {"schema": _STATUS_EVENT}}}},
)
async def recording_events(
    recording_id: uuid.UUID, viewer: CurrentViewer, state: StateDep, session: TenantSession
) -> EventSourceResponse:
    """Server-Sent Events: a ``status`` event on every change, until processed or failed."""
    await service.get_recording(session, viewer=viewer, recording_id=recording_id)
    changes = service.follow(
        state.sessions,
        state.events,
        viewer=viewer,
        recording_id=recording_id,
        poll_interval_s=state.settings.jobs.poll_interval_s,
    )

    async def stream() -> AsyncIterator[dict[str, str]]:
        async with aclosing(changes):
            async for change in changes:
                if change is None:
                    yield {"event": "deleted", "data": json.dumps({"id": str(recording_id)})}
                else:
                    yield {"event": "status", "data": json.dumps(_status_event(change))}

    return EventSourceResponse(stream(), ping=15)


def _status_event(change: RecordingProgress) -> dict[str, object]:
    data: dict[str, object] = {
        "status": change.status,
        "progress": {"chunks_done": change.chunks_done, "chunks_total": change.chunks_total},
    }
    if change.error:
        data["error"] = change.error
    return data


class TranscriptFormat(StrEnum):
    txt = "txt"
    json = "json"
    srt = "srt"
    vtt = "vtt"


_MEDIA = {
    TranscriptFormat.txt: "text/plain; charset=utf-8",
    TranscriptFormat.srt: "application/x-subrip",
    TranscriptFormat.vtt: "text/vtt; charset=utf-8",
}


@router.get(
    "/{recording_id}/transcript",
    response_model=None,
    responses=text_responses("text/plain", "application/x-subrip", "text/vtt"),
)
async def get_transcript(
    recording_id: uuid.UUID,
    viewer: CurrentViewer,
    session: TenantSession,
    auditor: AuditDep,
    format: TranscriptFormat = TranscriptFormat.json,
) -> Response:
    """The transcript as ``txt``, ``json``, ``srt`` or ``vtt`` (409 until it exists)."""
    transcript = await service.get_transcript(session, viewer=viewer, recording_id=recording_id)
    await auditor.record_by(
        session,
        viewer,
        action=Action.transcript_exported,
        target_type="recording",
        target_id=recording_id,
        details={"format": format.value},
    )
    if format is TranscriptFormat.json:
        return JSONResponse(transcript)
    render = {
        TranscriptFormat.txt: exports.to_txt,
        TranscriptFormat.srt: exports.to_srt,
        TranscriptFormat.vtt: exports.to_vtt,
    }[format]
    name = f"recording-{recording_id}.{format.value}"
    return PlainTextResponse(
        render(Transcript.from_dict(transcript)),
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class ReportFormat(StrEnum):
    md = "md"
    json = "json"


@router.get(
    "/{recording_id}/report", response_model=None, responses=text_responses("text/markdown")
)
async def get_report(
    recording_id: uuid.UUID,
    viewer: CurrentViewer,
    session: TenantSession,
    auditor: AuditDep,
    format: ReportFormat = ReportFormat.json,
) -> Response:
    """The latest ready report alone: ``json`` (metrics and Markdown) or ``md`` (409 until
    ready). Every report of the recording: ``GET /audio_recordings/{id}/reports``."""
    report = await service.get_report(session, viewer=viewer, recording_id=recording_id)
    await auditor.record_by(
        session,
        viewer,
        action=Action.report_read,
        target_type="recording",
        target_id=recording_id,
        details={"report": "latest", "format": format.value},
    )
    if format is ReportFormat.json:
        return JSONResponse(report)
    return PlainTextResponse(report["content_markdown"], media_type="text/markdown; charset=utf-8")
