"""Entity tags in conditional requests."""

from __future__ import annotations


def matches(header: str | None, tag: str) -> bool:
    """Whether an ``If-Match`` or ``If-None-Match`` value names ``tag`` (or is ``*``).

    ``W/`` is ignored: a proxy that compresses a response may weaken its tag, and RFC 9110
    compares ``If-None-Match`` weakly; the content a tag names is what counts.
    """
    if header is None:
        return False
    candidates = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in candidates or tag in candidates
