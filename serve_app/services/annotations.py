"""Review of a recording's annotation: read the latest version, save a clinician's version with
optimistic concurrency (``If-Match``), list the versions.

Takes the request's tenant session and never commits. The recording's visibility rules are the
recording's own (``recordings.get``): whoever may not see it gets 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Annotation, AudioRecording
from db.repositories import annotations as annotation_versions
from db.repositories import recordings
from db.repositories.annotations import VersionSummary
from db.repositories.recordings import Viewer
from fluently.errors import BadRequest, Conflict, FluentlyError, UnprocessableEntity
from pipelines.coverage import unrecovered_spans
from pipelines.metrics import MetricsSettings
from pipelines.review import InvalidAnnotation, ReviewedEvent, review
from pipelines.types import Segment
from serve_app.etags import matches
from serve_app.services.recordings import get_recording


class PreconditionFailed(FluentlyError):
    status_code = 412
    code = "precondition_failed"


class PreconditionRequired(FluentlyError):
    status_code = 428
    code = "precondition_required"


def etag(annotation: Annotation) -> str:
    """A strong tag naming the version: a version never changes once a review follows it."""
    return f'"{annotation.recording_id}-v{annotation.version}"'


async def current(session: AsyncSession, *, viewer: Viewer, recording_id: uuid.UUID) -> Annotation:
    """The latest version; 404 unless visible, 409 ``annotation_not_ready`` before processing
    has stored version 1."""
    await get_recording(session, viewer=viewer, recording_id=recording_id)
    return _ready(await annotation_versions.latest(session, recording_id=recording_id))


def _ready(annotation: Annotation | None) -> Annotation:
    if annotation is None:
        raise Conflict("the annotation is not ready yet", code="annotation_not_ready")
    return annotation


@dataclass(frozen=True, slots=True)
class SavedReview:
    annotation: Annotation
    previous_version: int


async def save_review(
    session: AsyncSession,
    *,
    viewer: Viewer,
    recording_id: uuid.UUID,
    if_match: str | None,
    segments: Sequence[Segment],
    events: Sequence[ReviewedEvent],
) -> SavedReview:
    """Store the clinician's words and events as the next version, with metrics computed from
    them. 428 without ``If-Match``; 412 when it does not name the latest version (someone saved
    since it was read); 422 ``invalid_annotation`` with nothing stored when the times or types
    do not hold together.

    Reviews of one recording take turns on its row lock, so of two editors holding the same
    version one saves and the other gets 412; the unique (recording, version) constraint is the
    second wall.
    """
    recording = await get_recording(session, viewer=viewer, recording_id=recording_id)
    if if_match is None:
        raise PreconditionRequired(
            "send If-Match with the ETag of the annotation you edited",
        )
    await annotation_versions.lock_recording(session, recording_id=recording_id)
    latest = _ready(await annotation_versions.latest(session, recording_id=recording_id))
    if not matches(if_match, etag(latest)):
        raise _stale(latest)
    transcript = await recordings.transcript_of(session, recording_id=recording_id)
    duration_s = _duration(recording, latest)
    try:
        reviewed = review(
            segments,
            events,
            duration_s=duration_s,
            limit_s=max(duration_s, recording.duration_s or 0.0),
            language=(transcript or {}).get("language") or recording.language,
            settings=MetricsSettings.from_dict(latest.metrics.get("settings") or {}),
            untranscribed=unrecovered_spans((transcript or {}).get("coverage") or {}),
        )
    except InvalidAnnotation as exc:
        raise UnprocessableEntity(str(exc), code="invalid_annotation") from exc
    try:
        async with session.begin_nested():
            saved = await annotation_versions.add_version(
                session,
                tenant_id=viewer.tenant_id,
                recording_id=recording_id,
                version=latest.version + 1,
                segments=[s.to_dict() for s in reviewed.segments],
                events=reviewed.events,
                metrics=reviewed.metrics.to_dict(),
                reviewed_by=viewer.user_id,
            )
    except IntegrityError as exc:
        raise _stale(latest) from exc
    return SavedReview(annotation=saved, previous_version=latest.version)


def _stale(latest: Annotation) -> PreconditionFailed:
    return PreconditionFailed(
        f"the annotation changed since you read it (it is at version {latest.version} or "
        "later); read it again and reapply your changes"
    )


def _duration(recording: AudioRecording, latest: Annotation) -> float:
    """The duration the metrics state: the decoded audio's, as the automatic analysis measured
    it, else the upload's."""
    measured = latest.metrics.get("duration_s")
    if isinstance(measured, int | float):
        return float(measured)
    return recording.duration_s or 0.0


@dataclass(frozen=True, slots=True)
class VersionList:
    versions: list[VersionSummary]
    next_cursor: str | None


async def list_versions(
    session: AsyncSession,
    *,
    viewer: Viewer,
    recording_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> VersionList:
    """Newest first; 404 unless visible, 400 ``invalid_cursor`` for a cursor not made here."""
    await get_recording(session, viewer=viewer, recording_id=recording_id)
    before = _decode_cursor(cursor) if cursor else None
    rows = await annotation_versions.versions(
        session, recording_id=recording_id, before=before, limit=limit + 1
    )
    page, more = rows[:limit], len(rows) > limit
    return VersionList(versions=page, next_cursor=str(page[-1].version) if more and page else None)


def _decode_cursor(cursor: str) -> int:
    if not (cursor.isdigit() and len(cursor) <= 9):
        raise BadRequest("cursor is not valid", code="invalid_cursor")
    return int(cursor)
