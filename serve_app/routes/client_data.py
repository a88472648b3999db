"""A client's data as a whole: export (a zip of everything held about them) and erasure."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse

from serve_app.deps import AuditDep, CurrentViewer, StateDep, TenantSession
from serve_app.services import client_data as service

router = APIRouter(prefix="/clients", tags=["clients"])


@router.get(
    "/{client_id}/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "A zip archive"}},
)
async def export_client(
    client_id: uuid.UUID,
    viewer: CurrentViewer,
    state: StateDep,
    session: TenantSession,
    auditor: AuditDep,
) -> StreamingResponse:
    """Everything held about the client, as a zip: per session the audio (unless retention
    removed it), the transcript (txt, json, srt, vtt), every annotation version and every
    report (md and json), and ``manifest.json`` listing the client's fields, the sessions and
    the SHA-256 of each file. Streamed as it is made."""
    export = await service.export_client(
        session,
        viewer=viewer,
        auditor=auditor,
        client_id=client_id,
        sessions=state.sessions,
        storage=state.storage,
    )
    return StreamingResponse(
        export.chunks,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.delete("/{client_id}", status_code=204)
async def erase_client(
    client_id: uuid.UUID,
    viewer: CurrentViewer,
    state: StateDep,
    session: TenantSession,
    auditor: AuditDep,
) -> Response:
    """Erase the client (admins only): their sessions, audio, transcripts, annotations,
    reports and queued work. The audit log keeps its entries, which hold ids only."""
    await service.erase_client(
        session, viewer=viewer, auditor=auditor, client_id=client_id, storage=state.storage
    )
    return Response(status_code=204)
