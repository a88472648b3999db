"""Keyset-pagination cursors: the (time, id) of a page's last item, opaque to clients.

Lists ordered newest first by a timestamp and an id (recordings, clients, a client's sessions,
jobs) hand out ``encode(at, id)`` as ``next_cursor`` and take it back through ``decode``, or
``decode_numbered`` where the id is a number (jobs).
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

from fluently.errors import BadRequest

_MAX_BIGINT = 2**63 - 1


def encode(at: datetime, ident: uuid.UUID | int) -> str:
    raw = f"{at.isoformat()}|{ident}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _split(cursor: str) -> tuple[datetime, str]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    at, ident = raw.split("|", 1)
    return datetime.fromisoformat(at), ident


def _invalid() -> BadRequest:
    return BadRequest("cursor is not valid", code="invalid_cursor")


def decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    """400 ``invalid_cursor`` for anything ``encode`` did not make."""
    try:
        at, ident = _split(cursor)
        return at, uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid() from exc


def decode_numbered(cursor: str) -> tuple[datetime, int]:
    """``decode`` for lists whose ids are numbers (a Postgres ``bigint``)."""
    try:
        at, ident = _split(cursor)
        if not (ident.isascii() and ident.isdigit() and int(ident) <= _MAX_BIGINT):
            raise ValueError(ident)
        return at, int(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid() from exc
