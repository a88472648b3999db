"""Request and response bodies of the API; the services return domain objects, these say how
they look on the wire."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)

from db.models import (
    Annotation,
    AudioRecording,
    JobStatus,
    Queue,
    Report,
    Role,
    SessionTask,
)
from db.repositories.annotations import VersionSummary
from db.repositories.clients import AssignmentRow
from pipelines.audio import Channel
from pipelines.metrics import DisfluencyType, Evidence, RepetitionKind
from pipelines.report import ReportLanguage, ReportType
from pipelines.review import ReviewedEvent
from pipelines.types import Segment, Word
from serve_app.security import MAX_PASSWORD_LENGTH

# Accounts


def _refusing(categories: frozenset[str], what: str, *, allowed: str = "") -> AfterValidator:
    """A validator refusing text with characters of these Unicode categories (but ``allowed``):
    they cannot be stored (Postgres refuses NUL in text and JSON) or make two different values
    look the same."""

    def check(value: str) -> str:
        if any(unicodedata.category(c) in categories and c not in allowed for c in value):
            raise ValueError(f"must not contain {what}")
        return value

    return AfterValidator(check)


_NO_CONTROL = _refusing(frozenset({"Cc", "Zl", "Zp"}), "control characters or line breaks")
_PLAIN_TEXT = _refusing(frozenset({"Cc"}), "control characters", allowed="\t\n\r")
"""Free text (notes, transcript lines): tabs and line breaks allowed, other controls not."""
_NO_INVISIBLE = _refusing(
    frozenset({"Cc", "Cf", "Zl", "Zp"}), "control, line-break or invisible characters"
)

Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    _NO_INVISIBLE,
]
"""Invisible (format) characters are refused too: an email names one account, and the same
address with a zero-width space in it must not pass for it."""
TenantName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), _NO_CONTROL
]
"""Format characters are allowed: Persian and Indic names need zero-width (non-)joiners."""
Password = Annotated[str, StringConstraints(max_length=MAX_PASSWORD_LENGTH)]
"""Upper bound only, on the password as sent; the policy (``Passwords.check_policy``) checks
blank passwords and both lengths again on the normalised form, with clear messages."""


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    role: Role
    tenant_id: uuid.UUID
    created_at: datetime


class NewUser(BaseModel):
    email: Email
    password: Password
    role: Role = Role.member


class Signup(BaseModel):
    tenant_name: TenantName
    email: Email
    password: Password


class Login(BaseModel):
    email: Email
    password: Password


class SessionOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth 2 scheme name)
    expires_in: int = Field(description="Seconds until the access token expires.")
    user: UserOut


class Me(UserOut):
    tenant_name: str


# Recordings


class RecordingAccepted(BaseModel):
    recording_id: uuid.UUID
    status: str


class Progress(BaseModel):
    chunks_done: int
    chunks_total: int


class RecordingOut(BaseModel):
    id: uuid.UUID
    status: str
    filename: str | None
    duration_s: float | None
    created_at: datetime
    updated_at: datetime
    progress: Progress
    error: str | None
    client_id: uuid.UUID | None = Field(description="The client whose session this is.")
    recorded_at: datetime = Field(description="When the session took place (default: upload).")
    task: SessionTask | None
    channel: Channel = Field(
        Channel.mix,
        description="Which channel of a two-channel recording was measured: both mixed, or "
        "the one the speaker was recorded on.",
    )
    audio_deleted_at: datetime | None = Field(
        description="When the clinic's retention period removed the audio; the transcript, "
        "annotations and reports stay."
    )
    transcript: dict[str, Any] | None
    report: dict[str, Any] | None
    metrics: dict[str, Any] | None = Field(
        None,
        description="From the latest annotation version: a clinician's review once there is "
        "one, else the automatic analysis (the report's own metrics stay as written).",
    )

    @classmethod
    def of(
        cls,
        recording: AudioRecording,
        *,
        transcript: dict[str, Any] | None = None,
        report: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> Self:
        return cls(
            id=recording.id,
            status=recording.status,
            filename=recording.filename,
            duration_s=recording.duration_s,
            created_at=recording.created_at,
            updated_at=recording.updated_at,
            progress=Progress(
                chunks_done=recording.chunks_done, chunks_total=recording.chunks_total
            ),
            error=recording.error,
            client_id=recording.client_id,
            recorded_at=recording.recorded_at or recording.created_at,
            task=None if recording.task is None else SessionTask(recording.task),
            channel=Channel(recording.channel),
            audio_deleted_at=recording.audio_deleted_at,
            transcript=transcript,
            report=report,
            metrics=metrics,
        )


class RecordingPage(BaseModel):
    items: list[RecordingOut]
    next_cursor: str | None


# Clients


def _blank_is_none(value: object) -> object:
    """An empty form field clears an optional text rather than storing ``""``."""
    return None if isinstance(value, str) and not value.strip() else value


def _plausible_birth_date(value: date | None) -> date | None:
    if value is not None and not date(1900, 1, 1) <= value <= date.today():
        raise ValueError("must be a past date after 1900-01-01")
    return value


ClientName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), _NO_CONTROL
]
ExternalRef = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), _NO_CONTROL] | None,
    BeforeValidator(_blank_is_none),
]
BirthDate = Annotated[
    date | None, BeforeValidator(_blank_is_none), AfterValidator(_plausible_birth_date)
]
Notes = Annotated[
    Annotated[str, StringConstraints(max_length=20_000), _PLAIN_TEXT] | None,
    BeforeValidator(_blank_is_none),
]


class NewClient(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: ClientName = Field(description="How the clinic names the client.")
    external_ref: ExternalRef = Field(None, description="The clinic's own record number.")
    date_of_birth: BirthDate = None
    notes: Notes = None


class ClientPatch(BaseModel):
    """Only the fields sent change; ``null`` clears an optional one."""

    model_config = ConfigDict(extra="forbid")

    display_name: ClientName | None = None
    external_ref: ExternalRef = None
    date_of_birth: BirthDate = None
    notes: Notes = None

    @model_validator(mode="after")
    def _name_is_required(self) -> Self:
        if "display_name" in self.model_fields_set and self.display_name is None:
            raise ValueError("display_name cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(include=self.model_fields_set)


class ClientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    display_name: str
    external_ref: str | None
    date_of_birth: date | None
    notes: str | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class ClientPage(BaseModel):
    items: list[ClientOut]
    next_cursor: str | None


class NewAssignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID = Field(description="A user of your clinic.")


class AssignmentOut(BaseModel):
    user_id: uuid.UUID
    email: str
    role: Role
    assigned_at: datetime

    @classmethod
    def of(cls, row: AssignmentRow) -> Self:
        return cls(
            user_id=row.user_id, email=row.email, role=Role(row.role), assigned_at=row.created_at
        )


class ProgressPoint(BaseModel):
    recording_id: uuid.UUID
    recorded_at: datetime
    value: float | None = Field(
        description="None where the metric is undefined (no syllable counting for the language)."
    )
    reviewed: bool = Field(description="From a clinician-reviewed annotation.")
    task: SessionTask | None


class ProgressOut(BaseModel):
    metric: str
    unit: str
    points: list[ProgressPoint]


# The clinic, and its audit log


class TenantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    audio_retention_days: int | None = Field(
        description="Audio is deleted this many days after upload; null keeps it."
    )
    created_at: datetime


class TenantPatch(BaseModel):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    audio_retention_days: Annotated[StrictInt, Field(ge=1, le=3650)] | None = Field(
        None,
        description="Days after upload before a recording's audio is deleted (transcripts, "
        "annotations and reports stay); null keeps audio until someone deletes it.",
    )

    def changes(self) -> dict[str, Any]:
        return self.model_dump(include=self.model_fields_set)


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    action: str
    actor_id: uuid.UUID | None = Field(description="The user who acted; null for the system.")
    target_type: str | None
    target_id: str | None
    request_id: str | None
    client_ip: str | None
    details: dict[str, Any]


class AuditEventPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None


# Jobs: the durable queue, seen by a clinic's admins


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str = Field(description="What the job does: process_recording, generate_report, ….")
    queue: Queue
    status: JobStatus
    attempts: int = Field(description="Attempts started so far.")
    max_attempts: int = Field(description="After this many failed attempts the job is dead.")
    last_error: str | None = Field(description="Why the last attempt failed, if one did.")
    recording_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    run_at: datetime = Field(description="Runnable from then on (later after a failure).")


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None


# Annotations: a recording's words and disfluency events, versioned, reviewed by a clinician

Seconds = Annotated[float, Field(allow_inf_nan=False, description="From the recording's start.")]
MAX_ANNOTATION_ITEMS = 20_000
"""Most segments, words per segment or events one annotation holds (hours of speech)."""


class WordBody(BaseModel):
    word: Annotated[str, StringConstraints(max_length=200), _NO_CONTROL]
    start: Seconds
    end: Seconds
    probability: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 1.0

    def to_word(self) -> Word:
        return Word(word=self.word, start=self.start, end=self.end, probability=self.probability)


class SegmentBody(BaseModel):
    start: Seconds
    end: Seconds
    text: Annotated[str, StringConstraints(max_length=20_000), _PLAIN_TEXT] = Field(
        "", description="Rebuilt from the words when the segment has words."
    )
    words: Annotated[list[WordBody], Field(max_length=MAX_ANNOTATION_ITEMS)] = []

    def to_segment(self) -> Segment:
        return Segment(
            start=self.start,
            end=self.end,
            text=self.text,
            words=tuple(w.to_word() for w in self.words),
        )


class EventBody(BaseModel):
    type: DisfluencyType
    subtype: RepetitionKind | None = Field(None, description="Required for repetitions only.")
    text: Annotated[str, StringConstraints(max_length=2_000), _PLAIN_TEXT] = Field(
        "", description="The words it covers; empty to take the words in its span."
    )
    start: Seconds
    end: Seconds
    to_review: bool = Field(False, description="Listed for review and not counted in any metric.")
    confidence: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = Field(
        None, description="The detector's; absent for an event a clinician added."
    )
    evidence: Annotated[list[Evidence], Field(max_length=8)] = Field(
        [], description="What the detector found it in; absent for a clinician's event."
    )
    stuttering_like: bool | None = Field(
        None,
        description="Computed from the type (and, for a whole-word repetition, the word's "
        "syllables); ignored when sent.",
    )

    def to_event(self) -> ReviewedEvent:
        return ReviewedEvent(
            type=self.type,
            start=self.start,
            end=self.end,
            text=self.text,
            subtype=self.subtype,
            to_review=self.to_review,
            confidence=self.confidence,
            evidence=tuple(self.evidence),
        )


class AnnotationIn(BaseModel):
    """A review: the words and events as the clinician leaves them. Metrics are computed."""

    segments: Annotated[list[SegmentBody], Field(max_length=MAX_ANNOTATION_ITEMS)]
    events: Annotated[list[EventBody], Field(max_length=MAX_ANNOTATION_ITEMS)]


class AnnotationOut(BaseModel):
    recording_id: uuid.UUID
    version: int = Field(description="1 is the automatic analysis; each review adds one.")
    segments: list[SegmentBody]
    events: list[EventBody]
    metrics: dict[str, Any] = Field(description="Computed from this version's words and events.")
    reviewed_by: uuid.UUID | None
    reviewed_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, annotation: Annotation) -> Self:
        return cls(
            recording_id=annotation.recording_id,
            version=annotation.version,
            segments=[SegmentBody.model_validate(s) for s in annotation.segments],
            events=[EventBody.model_validate(e) for e in annotation.events],
            metrics=annotation.metrics,
            reviewed_by=annotation.reviewed_by,
            reviewed_at=annotation.reviewed_at,
            created_at=annotation.created_at,
        )


class AnnotationVersionOut(BaseModel):
    version: int
    reviewed_by: uuid.UUID | None
    reviewed_at: datetime | None
    created_at: datetime
    event_count: int = Field(description="Events counted in the metrics.")
    to_review_count: int = Field(description="Events listed for review, not counted.")
    percent_syllables_stuttered: float | None

    @classmethod
    def of(cls, summary: VersionSummary) -> Self:
        return cls(
            version=summary.version,
            reviewed_by=summary.reviewed_by,
            reviewed_at=summary.reviewed_at,
            created_at=summary.created_at,
            event_count=summary.event_count,
            to_review_count=summary.to_review_count,
            percent_syllables_stuttered=summary.percent_syllables_stuttered,
        )


class AnnotationVersionPage(BaseModel):
    items: list[AnnotationVersionOut]
    next_cursor: str | None


# Reports as resources


class ReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: ReportType | None = Field(None, description="Default: the type asked for at upload.")
    language: ReportLanguage | None = Field(
        None, description="The report's language. Default: the one asked for at upload."
    )


class ReportSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    recording_id: uuid.UUID
    type: str
    language: str
    status: str = Field(description="pending, then ready or failed.")
    automatic: bool = Field(description="Written while the recording was processed.")
    annotation_version: int | None = Field(description="The annotation version it is made from.")
    generator: str | None = Field(description="The LLM client that wrote it, or template.")
    requested_by: uuid.UUID | None
    error: str | None
    created_at: datetime


class ReportOut(ReportSummary):
    metrics: dict[str, Any] | None
    content_markdown: str | None

    @classmethod
    def of(cls, report: Report) -> Self:
        return cls.model_validate(report)


class ReportPage(BaseModel):
    items: list[ReportSummary]
    next_cursor: str | None
