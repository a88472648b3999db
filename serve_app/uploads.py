"""Streams a multipart upload to a temporary file, hashing and counting as it goes.

Starlette's form parser only learns the size of a file part after reading all of it; here the
body is parsed chunk by chunk so an oversized upload is refused while it streams, and memory
stays flat whatever the file's size.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from fluently.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

_MAX_FIELD_BYTES = 4096
_MULTIPART_OVERHEAD = 64 * 1024


def multipart_body(**fields: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` documenting a multipart body: a required binary ``file`` and
    ``fields`` (JSON schemas). The routes read the body themselves (``receive_upload``), so
    FastAPI cannot derive this from their signatures."""
    properties = {"file": {"type": "string", "format": "binary"}, **fields}
    schema = {"type": "object", "required": ["file"], "properties": properties}
    return {"requestBody": {"content": {"multipart/form-data": {"schema": schema}}}}


@dataclass
class ReceivedUpload:
    path: Path
    sha256: str
    size: int
    filename: str | None
    content_type: str | None
    fields: dict[str, str] = field(default_factory=dict)
    """The last value of each form field."""
    field_values: dict[str, list[str]] = field(default_factory=dict)
    """Every value of each field, in order (OpenAI clients repeat ``timestamp_granularities[]``)."""


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str | None = None
    headers: dict[bytes, bytes] = field(default_factory=dict)
    value: bytearray = field(default_factory=bytearray)


class _Collector:
    """Receives the parser's callbacks; writes the ``file`` part to disk."""

    def __init__(self, file_field: str, sink: IO[bytes], max_bytes: int) -> None:
        self.file_field = file_field
        self.sink = sink
        self.max_bytes = max_bytes
        self.digest = hashlib.sha256()
        self.size = 0
        self.fields: dict[str, str] = {}
        self.field_values: dict[str, list[str]] = {}
        self.file_seen = False
        self.filename: str | None = None
        self.content_type: str | None = None
        self._part = _Part()
        self._header_field = bytearray()
        self._header_value = bytearray()

    def on_part_begin(self) -> None:
        self._part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._part.headers[bytes(self._header_field).lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        disposition, params = parse_options_header(
            self._part.headers.get(b"content-disposition", b"")
        )
        if disposition != b"form-data" or b"name" not in params:
            raise BadRequest("multipart part without a form-data name")
        self._part.name = params[b"name"].decode("utf-8", "replace")
        if b"filename" in params:
            self._part.filename = params[b"filename"].decode("utf-8", "replace")
        ctype = self._part.headers.get(b"content-type")
        self._part.content_type = ctype.decode("latin-1") if ctype else None
        if self._part.name == self.file_field:
            if self.file_seen:
                raise BadRequest(f"more than one '{self.file_field}' part")
            self.file_seen = True
            self.filename = self._part.filename
            self.content_type = self._part.content_type

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._part.name == self.file_field:
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise PayloadTooLarge(
                    f"file is larger than the limit of {self.max_bytes} bytes",
                    code="file_too_large",
                )
            self.digest.update(chunk)
            self.sink.write(chunk)
        else:
            self._part.value += chunk
            if len(self._part.value) > _MAX_FIELD_BYTES:
                raise BadRequest(f"form field '{self._part.name}' is too long")

    def on_part_end(self) -> None:
        if self._part.name and self._part.name != self.file_field:
            value = self._part.value.decode("utf-8", "replace")
            self.fields[self._part.name] = value
            self.field_values.setdefault(self._part.name, []).append(value)


@contextlib.asynccontextmanager
async def receive_upload(
    request: Request, *, tmp_dir: Path, max_bytes: int, file_field: str = "file"
) -> AsyncIterator[ReceivedUpload]:
    """Yield the upload saved in ``tmp_dir``; the temporary file is removed afterwards."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise UnsupportedMediaType("send the recording as multipart/form-data with a 'file' part")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + _MULTIPART_OVERHEAD:
        raise PayloadTooLarge(
            f"file is larger than the limit of {max_bytes} bytes", code="file_too_large"
        )
    await asyncio.to_thread(tmp_dir.mkdir, parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=tmp_dir, prefix="upload-", delete=True) as sink:
        collector = _Collector(file_field, sink, max_bytes)
        callbacks = {n: getattr(collector, n) for n in dir(collector) if n.startswith("on_")}
        parser = MultipartParser(params[b"boundary"], callbacks=callbacks)  # type: ignore[arg-type]
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        sink.flush()
        if not collector.file_seen:
            raise BadRequest("the 'file' field is required", code="missing_file")
        yield ReceivedUpload(
            path=Path(sink.name),
            sha256=collector.digest.hexdigest(),
            size=collector.size,
            filename=collector.filename,
            content_type=collector.content_type,
            fields=collector.fields,
            field_values=collector.field_values,
        )
