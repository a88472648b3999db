"""Clients: the people a clinic treats, who sees them, their sessions and their progress.

A client the caller may not see answers 404 on every route here (``serve_app/services/clients``
says who sees whom). ``DELETE /clients/{id}`` (erasure) lives in ``routes/client_data.py``.
"""

from __future__ import annotations

import asyncio
import uuid
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from db.models import SessionTask
from serve_app.deps import AuditDep, CurrentViewer, TenantSession
from serve_app.schemas import (
    AssignmentOut,
    ClientOut,
    ClientPage,
    ClientPatch,
    NewAssignment,
    NewClient,
    ProgressOut,
    ProgressPoint,
    RecordingOut,
    RecordingPage,
)
from serve_app.services import clients as service
from serve_app.services import progress
from serve_app.services.progress import ProgressMetric

router = APIRouter(prefix="/clients", tags=["clients"])

Limit = Annotated[int, Query(ge=1, le=100)]


@router.post("", status_code=201, response_model=ClientOut)
async def create_client(
    body: NewClient, viewer: CurrentViewer, session: TenantSession, auditor: AuditDep
) -> JSONResponse:
    """Add a client to your clinic. A member who adds a client is assigned to them."""
    client = await service.create_client(
        session, viewer=viewer, auditor=auditor, fields=body.model_dump()
    )
    return JSONResponse(
        ClientOut.model_validate(client).model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/clients/{client.id}"},
    )


@router.get("")
async def list_clients(
    viewer: CurrentViewer,
    session: TenantSession,
    limit: Limit = 20,
    cursor: str | None = None,
) -> ClientPage:
    """The clients you see (admins: all of the clinic's), newest first; pass ``next_cursor``
    back as ``cursor`` for the next page."""
    page = await service.list_clients(session, viewer=viewer, limit=limit, cursor=cursor)
    return ClientPage(
        items=[ClientOut.model_validate(c) for c in page.items], next_cursor=page.next_cursor
    )


@router.get("/{client_id}")
async def get_client(
    client_id: uuid.UUID, viewer: CurrentViewer, session: TenantSession, auditor: AuditDep
) -> ClientOut:
    """One client (the read is recorded in the audit log)."""
    client = await service.read_client(session, viewer=viewer, auditor=auditor, client_id=client_id)
    return ClientOut.model_validate(client)


@router.patch("/{client_id}")
async def update_client(
    client_id: uuid.UUID,
    body: ClientPatch,
    viewer: CurrentViewer,
    session: TenantSession,
    auditor: AuditDep,
) -> ClientOut:
    """Change the fields sent; ``null`` clears an optional field."""
    client = await service.update_client(
        session, viewer=viewer, auditor=auditor, client_id=client_id, changes=body.changes()
    )
    return ClientOut.model_validate(client)


@router.get("/{client_id}/assignments")
async def list_assignments(
    client_id: uuid.UUID, viewer: CurrentViewer, session: TenantSession
) -> list[AssignmentOut]:
    """The users assigned to the client, in the order they were assigned."""
    rows = await service.list_assignments(session, viewer=viewer, client_id=client_id)
    return [AssignmentOut.of(row) for row in rows]


@router.post(
    "/{client_id}/assignments",
    status_code=201,
    response_model=AssignmentOut,
    responses={200: {"description": "The user was already assigned"}},
)
async def assign_user(
    client_id: uuid.UUID,
    body: NewAssignment,
    viewer: CurrentViewer,
    session: TenantSession,
    auditor: AuditDep,
) -> JSONResponse:
    """Let a user of your clinic see the client and their sessions (admins only)."""
    row, created = await service.assign(
        session, viewer=viewer, auditor=auditor, client_id=client_id, user_id=body.user_id
    )
    return JSONResponse(
        AssignmentOut.of(row).model_dump(mode="json"), status_code=201 if created else 200
    )


@router.delete("/{client_id}/assignments/{user_id}", status_code=204)
async def unassign_user(
    client_id: uuid.UUID,
    user_id: uuid.UUID,
    viewer: CurrentViewer,
    session: TenantSession,
    auditor: AuditDep,
) -> Response:
    """Remove a user's assignment (admins only); their own uploads stay visible to them."""
    await service.unassign(
        session, viewer=viewer, auditor=auditor, client_id=client_id, user_id=user_id
    )
    return Response(status_code=204)


@router.get("/{client_id}/recordings")
async def client_recordings(
    client_id: uuid.UUID,
    viewer: CurrentViewer,
    session: TenantSession,
    auditor: AuditDep,
    limit: Limit = 20,
    cursor: str | None = None,
) -> RecordingPage:
    """The client's sessions, latest ``recorded_at`` first, with cursor pagination."""
    page = await service.client_recordings(
        session, viewer=viewer, auditor=auditor, client_id=client_id, limit=limit, cursor=cursor
    )
    return RecordingPage(
        items=[RecordingOut.of(r) for r in page.items], next_cursor=page.next_cursor
    )


class ProgressFormat(StrEnum):
    json = "json"
    png = "png"


@router.get(
    "/{client_id}/progress",
    response_model=ProgressOut,
    responses={200: {"content": {"image/png": {}}, "description": "JSON, or the chart"}},
)
async def client_progress(
    client_id: uuid.UUID,
    viewer: CurrentViewer,
    session: TenantSession,
    auditor: AuditDep,
    metric: ProgressMetric = ProgressMetric.percent_syllables_stuttered,
    task: SessionTask | None = None,
    format: ProgressFormat = ProgressFormat.json,
) -> Response:
    """One metric over the client's processed sessions, oldest first: the reviewed value where
    a clinician reviewed the session. ``format=png`` draws the chart."""
    found = await progress.client_progress(
        session, viewer=viewer, auditor=auditor, client_id=client_id, metric=metric, task=task
    )
    headers = {"Cache-Control": "private, no-store"}
    if format is ProgressFormat.png:
        png = await asyncio.to_thread(progress.render_png, found)
        return Response(png, media_type="image/png", headers=headers)
    body = ProgressOut(
        metric=found.metric.value,
        unit=found.axis.unit,
        points=[
            ProgressPoint(
                recording_id=p.recording_id,
                recorded_at=p.recorded_at,
                value=p.value,
                reviewed=p.reviewed,
                task=None if p.task is None else SessionTask(p.task),
            )
            for p in found.points
        ],
    )
    return Response(body.model_dump_json(), media_type="application/json", headers=headers)
