"""What a running ingress holds: settings, the database, storage, live events, and the local
transcriber deployment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from db.session import Sessions
from fluently.settings import Settings
from fluently.storage import StorageProvider
from serve_app.events import RecordingEvents
from serve_app.services.health import DeploymentsCheck


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: Sessions
    storage: StorageProvider
    events: RecordingEvents
    transcriber: Any | None = None
    """The ``LocalTranscriber`` ``DeploymentHandle``; None outside Serve."""
    deployments_check: DeploymentsCheck | None = None
    """What ``/readyz`` asks about the deployments; None outside Serve."""
