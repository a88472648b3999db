"""Reports as resources: request one from the reviewed annotation, list a recording's, read one
as JSON or Markdown."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from serve_app.deps import AuditDep, CurrentViewer, StateDep, TenantSession
from serve_app.schemas import ReportOut, ReportPage, ReportRequest, ReportSummary
from serve_app.services import reports as service
from serve_app.services.audit import Action

router = APIRouter(tags=["reports"])

_NOT_FOUND: dict[int | str, dict[str, str]] = {
    404: {"description": "No such recording or report, or not yours to see"}
}


@router.post(
    "/audio_recordings/{recording_id}/reports",
    status_code=202,
    response_model=ReportOut,
    responses={
        **_NOT_FOUND,
        409: {"description": "annotation_not_ready: the recording is not processed yet"},
    },
)
async def request_report(
    recording_id: uuid.UUID,
    viewer: CurrentViewer,
    state: StateDep,
    session: TenantSession,
    auditor: AuditDep,
    body: Annotated[ReportRequest | None, Body()] = None,
) -> JSONResponse:
    """Write a report from the latest annotation (a clinician's review once there is one), in
    any type and language, without transcribing again. Poll ``Location`` until ``ready``.
    With no body (or ``{}``), the type and language asked for at upload."""
    body = body or ReportRequest()
    report = await service.request_report(
        session,
        viewer=viewer,
        recording_id=recording_id,
        report_type=body.type,
        language=body.language,
        settings=state.settings,
    )
    await auditor.record_by(
        session,
        viewer,
        action=Action.report_requested,
        target_type="report",
        target_id=report.id,
        details={
            "recording_id": str(recording_id),
            "type": report.type,
            "language": report.language,
        },
    )
    return JSONResponse(
        ReportOut.of(report).model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/reports/{report.id}"},
    )


@router.get(
    "/audio_recordings/{recording_id}/reports", response_model=ReportPage, responses=_NOT_FOUND
)
async def list_reports(
    recording_id: uuid.UUID,
    viewer: CurrentViewer,
    session: TenantSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> ReportPage:
    """The recording's reports, newest first (the automatic one included), without content."""
    listed = await service.list_reports(
        session, viewer=viewer, recording_id=recording_id, limit=limit, cursor=cursor
    )
    return ReportPage(
        items=[ReportSummary.model_validate(r) for r in listed.reports],
        next_cursor=listed.next_cursor,
    )


class ReportFormat(StrEnum):
    json = "json"
    md = "md"


@router.get(
    "/reports/{report_id}",
    response_model=ReportOut,
    responses={
        **_NOT_FOUND,
        409: {"description": "report_not_ready: Markdown asked for before the report is ready"},
    },
)
async def get_report(
    report_id: uuid.UUID,
    viewer: CurrentViewer,
    session: TenantSession,
    auditor: AuditDep,
    format: ReportFormat = ReportFormat.json,
) -> Response:
    """One report: ``json`` (status, metrics, Markdown, the annotation version it was made
    from) or ``md`` (the Markdown alone, once ready)."""
    report = await service.get_report(session, viewer=viewer, report_id=report_id)
    body = (
        service.markdown_of(report)
        if format is ReportFormat.md
        else ReportOut.of(report).model_dump(mode="json")
    )
    await auditor.record_by(
        session,
        viewer,
        action=Action.report_read,
        target_type="report",
        target_id=report.id,
        details={"recording_id": str(report.recording_id), "format": format.value},
    )
    if isinstance(body, str):
        return PlainTextResponse(body, media_type="text/markdown; charset=utf-8")
    return JSONResponse(body)
