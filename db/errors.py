"""What the database refuses, in the data's words.

Repositories convert driver errors into these with ``raise ... from e``; the services decide what
each one means to a caller (``fluently.errors``), so ``db/`` knows nothing of HTTP.
"""

from __future__ import annotations


class DatabaseError(Exception):
    """Base of the errors repositories raise on purpose."""


class EmailTaken(DatabaseError):
    """Another account, in any tenant, already has this email (compared case-insensitively)."""
