"""Request and response bodies of the recordings API."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class ReportType(StrEnum):
    fluency_analysis = "fluency_analysis"
    speech_patterns = "speech_patterns"
    comprehensive = "comprehensive"


class ReportLanguage(StrEnum):
    en = "en"
    pt = "pt"
    es = "es"
    fr = "fr"
    de = "de"


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


class RecordingPage(BaseModel):
    items: list[RecordingOut]
    next_cursor: str | None
