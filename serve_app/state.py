"""What a running ingress holds: settings, the database engine, and handles to deployments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from db.session import Sessions
from fluently.settings import Settings
from fluently.storage import StorageProvider
from serve_app.events import RecordingEvents


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: Sessions
    storage: StorageProvider
    events: RecordingEvents
    handles: dict[str, Any] = field(default_factory=dict)
    """Serve ``DeploymentHandle``s by role ("transcriber", "dispatcher"); empty outside Serve."""
