"""Keyset-pagination cursors: the (time, id) of a page's last item, opaque to clients.

Lists ordered newest first by a timestamp and an id (recordings, clients, a client's sessions)
hand out ``encode(at, id)`` as ``next_cursor`` and take it back through ``decode``.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

from fluently.errors import BadRequest


def encode(at: datetime, ident: uuid.UUID) -> str:
    raw = f"{at.isoformat()}|{ident}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    """400 ``invalid_cursor`` for anything ``encode`` did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, ident = raw.split("|", 1)
        return datetime.fromisoformat(at), uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("cursor is not valid", code="invalid_cursor") from exc
