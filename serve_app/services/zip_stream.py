"""A zip archive written as a stream: members go in piece by piece and the archive's bytes come
out as they are made, so memory holds one piece, never the archive or a whole member.

The standard library's ``zipfile`` writes to any object with ``write``: given no ``tell`` or
``seek`` it sets the data-descriptor flag and puts each member's CRC and sizes after its data,
which every unzip tool reads. Each member's SHA-256 is computed on the way through, for the
archive's manifest.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import IO

_ZIP64_SIZE = 1 << 31
"""Members that may pass 2 GiB need ZIP64 headers, which must be chosen before the data."""


@dataclass(frozen=True, slots=True)
class Member:
    """A file in the archive, as the manifest lists it."""

    path: str
    sha256: str
    size_bytes: int


class _Sink:
    """Where ``zipfile`` writes: the bytes wait here until the stream hands them on."""

    def __init__(self) -> None:
        self._pieces: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._pieces.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def take(self) -> bytes:
        data = b"".join(self._pieces)
        self._pieces.clear()
        return data


class MemberWriter:
    """One member being written; ``close`` ends it and says what went in."""

    def __init__(self, path: str, out: IO[bytes]) -> None:
        self._path = path
        self._out = out
        self._digest = hashlib.sha256()
        self._size = 0

    def write(self, data: bytes) -> None:
        self._out.write(data)
        self._digest.update(data)
        self._size += len(data)

    def close(self) -> Member:
        self._out.close()
        return Member(path=self._path, sha256=self._digest.hexdigest(), size_bytes=self._size)


class ZipStream:
    """Write members with ``add`` or ``begin``; after each write, ``take`` hands over the bytes
    made so far; ``finish`` writes the central directory and hands over the rest."""

    def __init__(self, *, modified: datetime) -> None:
        self._sink = _Sink()
        self._archive = zipfile.ZipFile(self._sink, mode="w", allowZip64=True)
        self._date_time = (
            max(modified.year, 1980),
            modified.month,
            modified.day,
            modified.hour,
            modified.minute,
            modified.second,
        )

    def begin(self, path: str, *, compress: bool, size_hint: int = 0) -> MemberWriter:
        """Start a member; ``compress=False`` for data that is compressed already (audio)."""
        info = zipfile.ZipInfo(path, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o600 << 16
        out = self._archive.open(info, mode="w", force_zip64=size_hint >= _ZIP64_SIZE)
        return MemberWriter(path, out)

    def add(self, path: str, data: bytes) -> Member:
        """A whole (small) member at once, compressed."""
        writer = self.begin(path, compress=True)
        writer.write(data)
        return writer.close()

    def take(self) -> bytes:
        return self._sink.take()

    def finish(self) -> bytes:
        self._archive.close()
        return self._sink.take()
