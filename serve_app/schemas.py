"""Request and response bodies of the API; the services return domain objects, these say how
they look on the wire."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from db.models import AudioRecording, Role
from serve_app.security import MAX_PASSWORD_LENGTH

# Accounts


def _refusing(categories: frozenset[str], what: str) -> AfterValidator:
    """A validator refusing text with characters of these Unicode categories: they cannot be
    stored (Postgres refuses NUL) or make two different values look the same."""

    def check(value: str) -> str:
        if any(unicodedata.category(c) in categories for c in value):
            raise ValueError(f"must not contain {what}")
        return value

    return AfterValidator(check)


_NO_CONTROL = _refusing(frozenset({"Cc", "Zl", "Zp"}), "control characters or line breaks")
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
    transcript: dict[str, Any] | None
    report: dict[str, Any] | None

    @classmethod
    def of(
        cls,
        recording: AudioRecording,
        *,
        transcript: dict[str, Any] | None = None,
        report: dict[str, Any] | None = None,
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
            transcript=transcript,
            report=report,
        )


class RecordingPage(BaseModel):
    items: list[RecordingOut]
    next_cursor: str | None
