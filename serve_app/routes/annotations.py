"""A recording's annotation: read it with its ETag, save a clinician's review with If-Match,
list its versions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from serve_app.body_limit import body_limit
from serve_app.deps import AuditDep, CurrentViewer, TenantSession
from serve_app.etags import matches
from serve_app.schemas import (
    AnnotationIn,
    AnnotationOut,
    AnnotationVersionOut,
    AnnotationVersionPage,
)
from serve_app.services import annotations as service
from serve_app.services.audit import Action

router = APIRouter(prefix="/audio_recordings", tags=["annotations"])

ANNOTATION_BODY_BYTES = 16 * 1024 * 1024
"""The most a review may send: the longest recording accepted (2 hours) at 200 words a minute
is 24,000 words, about 2 MB of JSON with their times and probabilities."""

_ERRORS: dict[int | str, dict[str, str]] = {
    404: {"description": "No such recording, or not yours to see"},
    409: {"description": "annotation_not_ready: the recording is not processed yet"},
}


def _json(out: AnnotationOut, tag: str) -> Response:
    return Response(
        out.model_dump_json().encode(), media_type="application/json", headers={"ETag": tag}
    )


@router.get("/{recording_id}/annotation", response_model=AnnotationOut, responses=_ERRORS)
async def get_annotation(
    recording_id: uuid.UUID,
    request: Request,
    viewer: CurrentViewer,
    session: TenantSession,
    auditor: AuditDep,
) -> Response:
    """The latest version: words, events and the metrics computed from them. Its ``ETag`` is
    what ``PUT`` needs in ``If-Match``; ``If-None-Match`` gives 304 while it is current."""
    annotation = await service.current(session, viewer=viewer, recording_id=recording_id)
    tag = service.etag(annotation)
    if matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers={"ETag": tag})
    # Audited when the words are sent, as a recording's are; a 304 sends nothing new.
    await auditor.record_by(
        session,
        viewer,
        action=Action.annotation_read,
        target_type="recording",
        target_id=recording_id,
        details={"version": annotation.version},
    )
    return _json(AnnotationOut.of(annotation), tag)


@router.put(
    "/{recording_id}/annotation",
    response_model=AnnotationOut,
    responses={
        **_ERRORS,
        412: {"description": "precondition_failed: someone saved a version since you read it"},
        422: {"description": "validation_error or invalid_annotation: nothing was saved"},
        413: {"description": "body_too_large: over ANNOTATION_BODY_BYTES (16 MiB)"},
        428: {"description": "precondition_required: If-Match is missing"},
    },
)
@body_limit(ANNOTATION_BODY_BYTES)
async def review_annotation(
    recording_id: uuid.UUID,
    body: AnnotationIn,
    viewer: CurrentViewer,
    session: TenantSession,
    auditor: AuditDep,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Save a review as the next version: events added, removed, relabelled or re-timed, words
    corrected. Metrics are recomputed from it; earlier versions are kept."""
    saved = await service.save_review(
        session,
        viewer=viewer,
        recording_id=recording_id,
        if_match=if_match,
        segments=[s.to_segment() for s in body.segments],
        events=[e.to_event() for e in body.events],
    )
    annotation = saved.annotation
    await auditor.record_by(
        session,
        viewer,
        action=Action.annotation_changed,
        target_type="recording",
        target_id=recording_id,
        details={
            "version": annotation.version,
            "previous_version": saved.previous_version,
            "events": sum(1 for e in annotation.events if not e.get("to_review")),
            "to_review": sum(1 for e in annotation.events if e.get("to_review")),
            "words": sum(len(s.get("words", ())) for s in annotation.segments),
        },
    )
    return _json(AnnotationOut.of(annotation), service.etag(annotation))


@router.get(
    "/{recording_id}/annotation/versions", response_model=AnnotationVersionPage, responses=_ERRORS
)
async def list_annotation_versions(
    recording_id: uuid.UUID,
    viewer: CurrentViewer,
    session: TenantSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: str | None = None,
) -> AnnotationVersionPage:
    """Every version, newest first: who reviewed it and when, and how many events it counts."""
    listed = await service.list_versions(
        session, viewer=viewer, recording_id=recording_id, limit=limit, cursor=cursor
    )
    return AnnotationVersionPage(
        items=[AnnotationVersionOut.of(v) for v in listed.versions],
        next_cursor=listed.next_cursor,
    )
