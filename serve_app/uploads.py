"""Streams a multipart upload to a temporary file, hashing and counting as it goes.

Starlette's form parser only learns the size of a file part after reading all of it; here the
body is parsed chunk by chunk so an oversized upload is refused while it streams, and memory
stays flat whatever the file's size.

Parsing, hashing and writing run in a worker thread, never on the event loop: the body is
gathered in batches of ``_BATCH_BYTES`` and each batch is handed to the thread, so one 200 MB
upload does not stall every other request of its replica (``benchmarks/ingress.py``). Batches
run one after another, so the parser never sees two threads, and a cancelled request waits for
the batch in flight before its temporary file goes.

Whatever the client sends is hostile until proven otherwise: a body that is not multipart, a
body cut off before its closing boundary, a client that hangs up, a file name or part header
the database cannot hold: each is a 400 with its own code, raised before anything is stored,
and the temporary file goes with the request.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import anyio
from anyio import to_thread
from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from fluently.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

_MAX_FIELD_BYTES = 4096
_MAX_PARTS = 64
"""Far more than any client sends (OpenAI's sends under 20); bounds what form fields can hold,
since only the file part counts against the size limit."""
_MAX_CONTENT_TYPE_CHARS = 128
"""The width of ``audio_recordings.content_type``."""
_MULTIPART_OVERHEAD = 64 * 1024
_BATCH_BYTES = 256 * 1024
"""Body bytes gathered before a thread parses, hashes and writes them: about a millisecond of
work per hop, so the hops cost little next to it, and the size limit is enforced to within
this much while the body streams. Each batch is copied a few times on its way (gathered, handed
over, sliced by the parser), and the allocator keeps some of that: a 200 MB upload grew plain
uvicorn by 3.8 MB in two runs with 256 KiB batches, 6.6 MB with 1 MiB (``benchmarks/memory.py``)."""
_BREAKING = frozenset({"Cc", "Zl", "Zp"})
"""Unicode categories dropped from file names: control characters, line and paragraph breaks."""
_DIRECTION_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Bidirectional-text controls: they make "report\u202egpm.exe" read as "reportexe.mpg"."""


def multipart_body(**fields: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` documenting a multipart body: a required binary ``file`` and
    ``fields`` (JSON schemas). The routes read the body themselves (``receive_upload``), so
    FastAPI cannot derive this from their signatures."""
    properties = {"file": {"type": "string", "format": "binary"}, **fields}
    schema = {"type": "object", "required": ["file"], "properties": properties}
    return {"requestBody": {"content": {"multipart/form-data": {"schema": schema}}}}


def closed_multipart_body(**fields: dict[str, Any]) -> dict[str, Any]:
    """``multipart_body`` for a route that refuses any other field."""
    body = multipart_body(**fields)
    body["requestBody"]["content"]["multipart/form-data"]["schema"]["additionalProperties"] = False
    return body


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
    headers: dict[bytes, bytes] = field(default_factory=dict)
    value: bytearray = field(default_factory=bytearray)


def _clean_filename(raw: str) -> str | None:
    """The file name as it may be stored and shown; ``None`` when nothing is left.

    NUL is refused: no file system allows it, so it only comes from a forged request, and
    Postgres text cannot hold it. Other control characters (legal in POSIX names), line and
    paragraph separators, and bidirectional-text controls are dropped: they forge log lines,
    drive terminals and disguise extensions.
    """
    if "\x00" in raw:
        raise BadRequest("the file name contains a NUL character", code="invalid_filename")
    kept = (
        c for c in raw if unicodedata.category(c) not in _BREAKING and c not in _DIRECTION_CONTROLS
    )
    return "".join(kept).strip() or None


def _clean_content_type(raw: bytes | None) -> str | None:
    """The file part's media type as it may be stored; refused, not cut, when it is longer
    than the column or holds anything but printable ASCII (RFC 6838 names are ASCII)."""
    value = (raw or b"").strip()
    if len(value) > _MAX_CONTENT_TYPE_CHARS:
        raise BadRequest(
            f"the file part's Content-Type is longer than {_MAX_CONTENT_TYPE_CHARS} characters",
            code="invalid_content_type",
        )
    if any(not 0x20 <= byte < 0x7F for byte in value):
        raise BadRequest(
            "the file part's Content-Type must be printable ASCII", code="invalid_content_type"
        )
    return value.decode("ascii") or None


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
        self.parts = 0
        self.complete = False
        """Set by ``on_end``, which the parser calls only on the closing boundary."""
        self.filename: str | None = None
        self.content_type: str | None = None
        self._part = _Part()
        self._header_field = bytearray()
        self._header_value = bytearray()

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > _MAX_PARTS:
            raise BadRequest(f"more than {_MAX_PARTS} multipart parts", code="too_many_parts")
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
        if self._part.name == self.file_field:
            if self.file_seen:
                raise BadRequest(f"more than one '{self.file_field}' part")
            self.file_seen = True
            filename = params.get(b"filename")
            self.filename = (
                _clean_filename(filename.decode("utf-8", "replace")) if filename else None
            )
            self.content_type = _clean_content_type(self._part.headers.get(b"content-type"))

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

    def on_end(self) -> None:
        self.complete = True


async def _parse(request: Request, boundary: bytes, collector: _Collector) -> None:
    """Feed the body to the parser; 400 ``malformed_multipart`` when it is not multipart, 400
    ``incomplete_upload`` when it stops before the closing boundary or the client hangs up
    (a torn upload must not be processed as if it were the whole recording)."""
    if not boundary:
        raise BadRequest("the multipart boundary is empty", code="malformed_multipart")
    callbacks = {n: getattr(collector, n) for n in dir(collector) if n.startswith("on_")}
    try:
        parser = MultipartParser(boundary, callbacks=callbacks)  # type: ignore[arg-type]
        batch = bytearray()
        async for chunk in request.stream():
            batch += chunk
            if len(batch) >= _BATCH_BYTES:
                await to_thread.run_sync(parser.write, bytes(batch))
                batch.clear()
        await to_thread.run_sync(_write_last, parser, bytes(batch), collector.sink)
    except FormParserError as exc:
        raise BadRequest(
            f"the body is not valid multipart/form-data: {exc}", code="malformed_multipart"
        ) from exc
    except ClientDisconnect as exc:
        raise BadRequest(
            "the client disconnected before the upload was complete", code="incomplete_upload"
        ) from exc
    if not collector.complete:
        raise BadRequest(
            "the upload ended before its closing multipart boundary: it was cut off; "
            "send the whole file again",
            code="incomplete_upload",
        )


def _write_last(parser: MultipartParser, batch: bytes, sink: IO[bytes]) -> None:
    parser.write(batch)
    sink.flush()


def _new_temporary_file(tmp_dir: Path) -> IO[bytes]:
    tmp_dir.mkdir(parents=True, exist_ok=True)
    return tempfile.NamedTemporaryFile(mode="w+b", dir=tmp_dir, prefix="upload-", delete=True)


@contextlib.asynccontextmanager
async def _temporary_file(tmp_dir: Path) -> AsyncIterator[IO[bytes]]:
    """A temporary file in ``tmp_dir``, created and removed in a worker thread (removing a
    large file takes a while); removed even when the request is cancelled."""
    sink = await to_thread.run_sync(_new_temporary_file, tmp_dir)
    try:
        yield sink
    finally:
        with anyio.CancelScope(shield=True):
            await to_thread.run_sync(sink.close)


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
    async with _temporary_file(tmp_dir) as sink:
        collector = _Collector(file_field, sink, max_bytes)
        await _parse(request, params[b"boundary"], collector)
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
