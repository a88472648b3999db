"""HTTP byte ranges (RFC 9110 §14): the one span of a file a ``Range`` header asks for.

Players ask for one span at a time when they seek. A header this server does not serve as a
range (another unit, several spans, a malformed one) is ignored, and the whole file is sent,
as the RFC allows; only a well-formed span that starts past the end is refused (416).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fluently.errors import RangeNotSatisfiable

_ONE_SPAN = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True, slots=True)
class ByteSpan:
    start: int
    stop: int
    """Exclusive."""

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.stop - 1}/{size}"


def requested_span(header: str | None, *, size: int) -> ByteSpan | None:
    """The span of a ``size``-byte file that ``header`` asks for, within the file; None for the
    whole file. Raises ``RangeNotSatisfiable`` when it starts at or past the end."""
    match = _ONE_SPAN.fullmatch(header.strip()) if header else None
    if match is None:
        return None
    first, last = match.groups()
    if first:
        start = int(first)
        if last and int(last) < start:
            return None  # malformed: ignored
        stop = min(int(last) + 1, size) if last else size
    elif last:
        suffix = int(last)  # the final ``suffix`` bytes
        if suffix == 0:
            raise RangeNotSatisfiable("the range asks for no bytes", size=size)
        start, stop = max(size - suffix, 0), size
    else:
        return None
    if start >= size:
        raise RangeNotSatisfiable(
            f"the range starts past the end of the audio ({size} bytes)", size=size
        )
    return ByteSpan(start=start, stop=stop)
