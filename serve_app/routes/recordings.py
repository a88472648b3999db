"""Recordings: upload, status (with ETag), list, delete, live events, transcript exports."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sse_starlette.sse import EventSourceResponse

from db.models import RecordingStatus
from db.repositories import recordings as repo
from db.repositories.recordings import Viewer
from db.session import tenant_session
from fluently.errors import Conflict, NotFound
from pipelines import exports
from pipelines.types import Transcript
from serve_app.deps import CurrentUser, StateDep, TenantSession
from serve_app.schemas import (
    RecordingAccepted,
    RecordingOut,
    RecordingPage,
    ReportLanguage,
    ReportType,
)
from serve_app.services import recordings as service
from serve_app.services.languages import TranscriptionLanguages
from serve_app.uploads import multipart_body, receive_upload

router = APIRouter(prefix="/audio_recordings", tags=["recordings"])


def viewer_of(user: CurrentUser) -> Viewer:
    return Viewer(tenant_id=user.tenant_id, user_id=user.id, is_admin=user.role == "admin")


@router.post(
    "",
    status_code=202,
    response_model=RecordingAccepted,
    responses={200: {"description": "The same file was already uploaded in this tenant"}},
    openapi_extra=multipart_body(
        language={
            "type": "string",
            "default": "en",
            "description": "What is spoken: an ISO 639-1 code, or 'auto' to let the backend "
            "detect it. 422 invalid_language for anything else, 422 unsupported_language "
            "when no configured backend transcribes it.",
        },
        report_type={"type": "string", "enum": [t.value for t in ReportType]},
        report_language={"type": "string", "enum": [lang.value for lang in ReportLanguage]},
    ),
)
async def upload_recording(
    request: Request, user: CurrentUser, state: StateDep, session: TenantSession
) -> JSONResponse:
    """Upload speech (multipart ``file``); processing starts at once. Poll or follow events."""
    settings = state.settings
    async with receive_upload(
        request, tmp_dir=settings.data_dir / "tmp", max_bytes=settings.upload.max_bytes
    ) as upload:
        recording, created = await service.accept_upload(
            session,
            viewer=viewer_of(user),
            upload=upload,
            settings=settings,
            storage=state.storage,
            languages=TranscriptionLanguages.for_recordings(
                settings=settings, local=state.handles.get("transcriber")
            ),
        )
    body = RecordingAccepted(recording_id=recording.id, status=recording.status)
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=202 if created else 200,
        headers={"Location": f"/audio_recordings/{recording.id}"},
    )


@router.get("", response_model=RecordingPage)
async def list_recordings(
    user: CurrentUser,
    session: TenantSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> RecordingPage:
    """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    before = service.decode_cursor(cursor) if cursor else None
    rows = await repo.list_page(session, viewer=viewer_of(user), limit=limit + 1, before=before)
    page, more = rows[:limit], len(rows) > limit
    items = [service.describe(repo.RecordingDetail(r, None, None)) for r in page]
    return RecordingPage(
        items=items, next_cursor=service.encode_cursor(page[-1]) if more and page else None
    )


@router.get("/{recording_id}", response_model=RecordingOut)
async def get_recording(
    recording_id: uuid.UUID, request: Request, user: CurrentUser, session: TenantSession
) -> Response:
    """Status, progress, transcript and report. Send ``If-None-Match`` to get 304 if unchanged."""
    detail = await service.get_detail(session, viewer=viewer_of(user), recording_id=recording_id)
    body = service.describe(detail).model_dump_json().encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, media_type="application/json", headers={"ETag": etag})


@router.delete("/{recording_id}", status_code=204)
async def delete_recording(
    recording_id: uuid.UUID, user: CurrentUser, state: StateDep, session: TenantSession
) -> Response:
    """Delete the recording, its transcript, report, queued work and stored audio."""
    await service.delete(
        session, viewer=viewer_of(user), recording_id=recording_id, storage=state.storage
    )
    return Response(status_code=204)


@router.get("/{recording_id}/events")
async def recording_events(
    recording_id: uuid.UUID, user: CurrentUser, state: StateDep
) -> EventSourceResponse:
    """Server-Sent Events: a ``status`` event on every change, until processed or failed."""
    viewer = viewer_of(user)
    async with tenant_session(state.sessions, viewer.tenant_id) as session:
        if await repo.get(session, viewer=viewer, recording_id=recording_id) is None:
            raise NotFound("recording not found")

    async def stream() -> AsyncIterator[dict[str, str]]:
        wake = state.events.subscribe(recording_id)
        try:
            last: dict[str, object] | None = None
            while True:
                async with tenant_session(state.sessions, viewer.tenant_id) as session:
                    rec = await repo.get(session, viewer=viewer, recording_id=recording_id)
                if rec is None:
                    yield {"event": "deleted", "data": json.dumps({"id": str(recording_id)})}
                    return
                current: dict[str, object] = {
                    "status": rec.status,
                    "progress": {"chunks_done": rec.chunks_done, "chunks_total": rec.chunks_total},
                }
                if rec.error:
                    current["error"] = rec.error
                if current != last:
                    yield {"event": "status", "data": json.dumps(current)}
                    last = current
                if RecordingStatus(rec.status).is_terminal:
                    return
                try:
                    await asyncio.wait_for(wake.get(), timeout=state.settings.jobs.poll_interval_s)
                except TimeoutError:
                    pass
        finally:
            state.events.unsubscribe(recording_id, wake)

    return EventSourceResponse(stream(), ping=15)


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


@router.get("/{recording_id}/transcript", response_model=None)
async def get_transcript(
    recording_id: uuid.UUID,
    user: CurrentUser,
    session: TenantSession,
    format: TranscriptFormat = TranscriptFormat.json,
) -> Response:
    """The transcript as ``txt``, ``json``, ``srt`` or ``vtt`` (409 until it exists)."""
    detail = await service.get_detail(session, viewer=viewer_of(user), recording_id=recording_id)
    out = service.describe(detail)
    if out.transcript is None:
        raise Conflict("the transcript is not ready yet", code="transcript_not_ready")
    if format is TranscriptFormat.json:
        return JSONResponse(out.transcript)
    transcript = Transcript.from_dict(out.transcript)
    render = {
        TranscriptFormat.txt: exports.to_txt,
        TranscriptFormat.srt: exports.to_srt,
        TranscriptFormat.vtt: exports.to_vtt,
    }[format]
    name = f"recording-{recording_id}.{format.value}"
    return PlainTextResponse(
        render(transcript),
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class ReportFormat(StrEnum):
    md = "md"
    json = "json"


@router.get("/{recording_id}/report", response_model=None)
async def get_report(
    recording_id: uuid.UUID,
    user: CurrentUser,
    session: TenantSession,
    format: ReportFormat = ReportFormat.json,
) -> Response:
    """The fluency report alone: ``json`` (metrics and Markdown) or ``md`` (409 until ready)."""
    detail = await service.get_detail(session, viewer=viewer_of(user), recording_id=recording_id)
    report = service.describe(detail).report
    if report is None:
        raise Conflict("the report is not ready yet", code="report_not_ready")
    if format is ReportFormat.json:
        return JSONResponse(report)
    return PlainTextResponse(report["content_markdown"], media_type="text/markdown; charset=utf-8")
