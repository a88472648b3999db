"""Uploads that are not what they claim to be, on both upload routes: malformed multipart, torn
bodies, hostile file names and part headers, a client that hangs up; de-duplication that
stays within what the caller may see; and a large upload, which crosses Serve's proxy and an
Ingress replica without either holding it.

Every refused upload answers 4xx with the usual error body and leaves nothing behind: no row,
no stored audio, no temporary file. ``/v1/audio/transcriptions`` needs a transcriber deployment
to be served at all; in-process it gets a stand-in that fails the test if an upload ever
reaches it, which a refused upload must not.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import struct
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import psutil
import pytest
from fastapi import FastAPI

from deployments.recording_pipeline import JOB_WORKDIR_PREFIX
from fluently.settings import Settings
from serve_app.app import create_app
from tests.platform import Platform
from tests.support import (
    FIXTURES,
    Account,
    add_user,
    client_of,
    log_in,
    sign_up,
    signup,
    stored_state,
    upload,
)

BOUNDARY = b"fluently-test-boundary"
MP3 = (FIXTURES / "jfk.mp3").read_bytes()
ROUTES = ("/audio_recordings", "/v1/audio/transcriptions")


def part(
    name: str, payload: bytes, *, filename: bytes | None = None, content_type: bytes | None = None
) -> bytes:
    """One multipart part, its headers written byte for byte as a hostile client might."""
    disposition = b'Content-Disposition: form-data; name="' + name.encode() + b'"'
    if filename is not None:
        disposition += b'; filename="' + filename + b'"'
    headers = [disposition] + ([b"Content-Type: " + content_type] if content_type else [])
    return b"--" + BOUNDARY + b"\r\n" + b"\r\n".join(headers) + b"\r\n\r\n" + payload + b"\r\n"


def closed(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--" + BOUNDARY + b"--\r\n"


MULTIPART = "multipart/form-data; boundary=" + BOUNDARY.decode()
LONG_TYPE = b"audio/mpeg; codecs=" + b"x" * 120
HEADER_WITHOUT_COLON = (
    b"--" + BOUNDARY + b'\r\nContent-Disposition form-data; name="file"\r\n\r\n' + MP3[:500]
)

REFUSED: list[tuple[str, bytes, str, int, str]] = [
    # (case, body, request Content-Type, status, code)
    (
        "nul_in_filename",
        closed(part("file", MP3, filename=b"jfk\x00.mp3", content_type=b"audio/mpeg")),
        MULTIPART,
        400,
        "invalid_filename",
    ),
    (
        "content_type_over_128",
        closed(part("file", MP3, filename=b"jfk.mp3", content_type=LONG_TYPE)),
        MULTIPART,
        400,
        "invalid_content_type",
    ),
    (
        "control_character_in_content_type",
        closed(part("file", MP3, filename=b"jfk.mp3", content_type=b"audio/mpeg\x00\x1b")),
        MULTIPART,
        400,
        "invalid_content_type",
    ),
    ("not_multipart", b"this is not a multipart body", MULTIPART, 400, "malformed_multipart"),
    (
        "header_line_without_colon",
        closed(HEADER_WITHOUT_COLON),
        MULTIPART,
        400,
        "malformed_multipart",
    ),
    (
        "boundary_longer_than_the_parser_allows",
        closed(part("file", MP3, filename=b"jfk.mp3")),
        "multipart/form-data; boundary=" + "b" * 300,
        400,
        "malformed_multipart",
    ),
    (
        "torn_before_the_closing_boundary",
        part("file", MP3[:1000], filename=b"jfk.mp3", content_type=b"audio/mpeg"),
        MULTIPART,
        400,
        "incomplete_upload",
    ),
    (
        "torn_inside_the_file",
        part("file", MP3, filename=b"jfk.mp3", content_type=b"audio/mpeg")[:1000],
        MULTIPART,
        400,
        "incomplete_upload",
    ),
    ("empty_body", b"", MULTIPART, 400, "incomplete_upload"),
    (
        "too_many_parts",
        closed(*[part(f"field{i}", b"x") for i in range(100)], part("file", MP3[:100])),
        MULTIPART,
        400,
        "too_many_parts",
    ),
]


def leftovers(superuser_conninfo: str, settings: Settings) -> tuple[int, int, int]:
    """(recording rows in the whole database, stored audio files, temporary upload files).

    Jobs' working folders share ``tmp`` and come and go as other tests' recordings process."""
    tmp = settings.data_dir / "tmp"
    temporary = (
        [p for p in tmp.iterdir() if not p.name.startswith(JOB_WORKDIR_PREFIX)]
        if tmp.exists()
        else []
    )
    return (*stored_state(superuser_conninfo, settings), len(temporary))


class _Unreachable:
    """Stands in for the transcriber deployment: a refused upload must never get this far."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a refused upload reached the transcriber ({name})")


@pytest.fixture(scope="module")
async def transcribing_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The in-process app with a transcriber handle, so ``/v1`` reads the upload."""
    app = create_app(settings, transcriber=_Unreachable())
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def both(
    ingress: FastAPI, transcribing_app: FastAPI
) -> AsyncIterator[dict[str, tuple[httpx.AsyncClient, dict[str, str]]]]:
    """Per route: a client of an app serving it, and an admin's Authorization header."""
    async with client_of(ingress) as recordings, client_of(transcribing_app) as openai:
        yield {
            "/audio_recordings": (recordings, await signup(recordings)),
            "/v1/audio/transcriptions": (openai, await signup(openai)),
        }


async def post_raw(
    client: httpx.AsyncClient, route: str, headers: dict[str, str], body: bytes, ctype: str
) -> httpx.Response:
    return await client.post(route, headers={**headers, "Content-Type": ctype}, content=body)


class TestRefusedUploads:
    @pytest.mark.parametrize("route", ROUTES)
    @pytest.mark.parametrize(
        ("case", "body", "ctype", "status", "code"), REFUSED, ids=[c[0] for c in REFUSED]
    )
    async def test_is_a_4xx_and_leaves_nothing_behind(
        self,
        both: dict[str, tuple[httpx.AsyncClient, dict[str, str]]],
        settings: Settings,
        superuser_conninfo: str,
        route: str,
        case: str,
        body: bytes,
        ctype: str,
        status: int,
        code: str,
    ) -> None:
        client, headers = both[route]
        before = leftovers(superuser_conninfo, settings)
        response = await post_raw(client, route, headers, body, ctype)
        assert response.status_code == status, (case, response.text)
        error = response.json()["error"]
        assert error["code"] == code and error["message"], error
        assert leftovers(superuser_conninfo, settings) == before

    async def test_a_client_that_hangs_up_mid_upload_leaves_nothing_behind(
        self, ingress: FastAPI, settings: Settings, superuser_conninfo: str
    ) -> None:
        """Straight through ASGI, as a server reports a dropped connection: the first half of
        the body, then ``http.disconnect``."""
        async with client_of(ingress) as client:
            auth = await signup(client)
        body = closed(part("file", MP3, filename=b"jfk.mp3", content_type=b"audio/mpeg"))
        incoming: list[dict[str, Any]] = [
            {"type": "http.request", "body": body[: len(body) // 2], "more_body": True},
            {"type": "http.disconnect"},
        ]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return incoming.pop(0) if incoming else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        headers = {**auth, "content-type": MULTIPART, "content-length": str(len(body))}
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/audio_recordings",
            "raw_path": b"/audio_recordings",
            "root_path": "",
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("192.0.2.7", 40_000),
            "server": ("testserver", 80),
        }
        before = leftovers(superuser_conninfo, settings)
        await ingress(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        assert start["status"] == 400
        assert b"incomplete_upload" in b"".join(m.get("body", b"") for m in sent)
        assert leftovers(superuser_conninfo, settings) == before


class TestFileNames:
    async def test_control_and_direction_characters_are_dropped_from_the_stored_name(
        self, client: httpx.AsyncClient
    ) -> None:
        """Terminal escapes forge log lines and a right-to-left override disguises an
        extension ("jfk<RLO>3pm.exe" shows as "jfkexe.mp3"); neither reaches the database."""
        headers = await signup(client)
        name = "jfk\x1b[31m\tred\u202e3pm\u2028.mp3".encode()
        body = closed(part("file", MP3, filename=name, content_type=b"audio/mpeg"))
        response = await post_raw(client, "/audio_recordings", headers, body, MULTIPART)
        assert response.status_code == 202, response.text
        recording = f"/audio_recordings/{response.json()['recording_id']}"
        assert (await client.get(recording, headers=headers)).json()["filename"] == (
            "jfk[31mred3pm.mp3"
        )
        assert (await client.delete(recording, headers=headers)).status_code == 204


@pytest.fixture
async def clinic(ingress: FastAPI) -> AsyncIterator[tuple[httpx.AsyncClient, Account, Account]]:
    """A client, a new clinic's admin and one of its members. Their recordings are deleted
    afterwards, so no two users of one tenant are left holding the same bytes (which
    migration 0003's downgrade refuses)."""
    async with client_of(ingress) as client:
        admin = await sign_up(client)
        member = await log_in(client, await add_user(client, admin))
        yield client, admin, member
        listing = await client.get("/audio_recordings?limit=100", headers=admin.auth)
        for item in listing.json()["items"]:
            gone = await client.delete(f"/audio_recordings/{item['id']}", headers=admin.auth)
            assert gone.status_code == 204


async def _upload(
    client: httpx.AsyncClient, account: Account, fixture: str = "jfk.opus"
) -> tuple[int, str]:
    response = await upload(client, account.auth, FIXTURES / fixture)
    assert response.status_code in (200, 202), response.text
    return response.status_code, response.json()["recording_id"]


class TestDeduplication:
    async def test_only_recordings_the_caller_can_read_are_handed_back(
        self, clinic: tuple[httpx.AsyncClient, Account, Account]
    ) -> None:
        """A member after an admin: a recording of their own. An admin after a member: the
        member's, which the admin can read. Anyone twice: their own first recording."""
        client, admin, member = clinic
        admin_status, admins = await _upload(client, admin, "jfk.opus")
        member_status, members = await _upload(client, member, "jfk.opus")
        assert (admin_status, member_status) == (202, 202)
        assert members != admins
        assert (await client.get(f"/audio_recordings/{members}", headers=member.auth)).is_success
        assert await _upload(client, member, "jfk.opus") == (200, members)
        assert await _upload(client, admin, "jfk.opus") == (200, admins), "an admin's own first"

        _, members_ogg = await _upload(client, member, "jfk.ogg")
        assert await _upload(client, admin, "jfk.ogg") == (200, members_ogg)
        readable = await client.get(f"/audio_recordings/{members_ogg}", headers=admin.auth)
        assert readable.is_success

    async def test_concurrent_uploads_dedupe_per_user(
        self, clinic: tuple[httpx.AsyncClient, Account, Account]
    ) -> None:
        """The same member twice at once: one recording. Two members at once: two, each
        readable by its uploader, whichever commits first."""
        client, admin, member = clinic
        twice = await asyncio.gather(_upload(client, member), _upload(client, member))
        assert sorted(status for status, _ in twice) == [200, 202]
        assert twice[0][1] == twice[1][1]

        other = await log_in(client, await add_user(client, admin))
        both = await asyncio.gather(
            _upload(client, member, "jfk.ogg"), _upload(client, other, "jfk.ogg")
        )
        assert [status for status, _ in both] == [202, 202]
        (_, members), (_, others) = both
        assert members != others
        for account, recording in ((member, members), (other, others)):
            mine = await client.get(f"/audio_recordings/{recording}", headers=account.auth)
            assert mine.is_success


@pytest.mark.slow
class TestThroughServe:
    @pytest.mark.parametrize("route", ROUTES)
    async def test_malformed_and_torn_uploads_through_the_proxy(
        self,
        api: httpx.AsyncClient,
        settings: Settings,
        superuser_conninfo: str,
        route: str,
    ) -> None:
        """The same refusals when Serve's proxy carries the body to an ingress replica."""
        headers = await signup(api)
        before = leftovers(superuser_conninfo, settings)
        for case, body, ctype, status, code in REFUSED:
            response = await post_raw(api, route, headers, body, ctype)
            assert response.status_code == status, (case, response.text)
            assert response.json()["error"]["code"] == code, (case, response.text)
        assert leftovers(superuser_conninfo, settings) == before

    async def test_a_large_upload_crosses_the_proxy_without_either_holding_it(
        self, api: httpx.AsyncClient, platform: Platform
    ) -> None:
        """An upload of ``LARGE_MB`` MB, sent as fast as the client can, grows neither Serve's
        proxy nor an Ingress replica by more than ``GROWTH_BOUND_MB``: the proxy reads the
        socket only as fast as the app stores the body (``serve_app/receive_buffers.py``). The
        recording is accepted and its stored audio is the bytes sent."""
        headers = await signup(api)
        watched = {
            f"{name}#{proc.pid}": proc
            for name in ("ServeReplica:fluently:Ingress", "ray::ProxyActor")
            for proc in platform.processes(name)
        }
        assert len(watched) == 3, watched
        with rss_growth(watched) as growth:
            response = await api.post(
                "/audio_recordings",
                headers={**headers, "Content-Type": MULTIPART, "Content-Length": str(LARGE_BODY)},
                content=large_upload(),
                timeout=300,
            )
        assert response.status_code == 202, response.text
        recording_id = response.json()["recording_id"]
        assert response.headers["Location"] == f"/audio_recordings/{recording_id}"
        assert max(growth.values()) < GROWTH_BOUND_MB, growth

        stored = hashlib.sha256()
        async with api.stream(
            "GET", f"/audio_recordings/{recording_id}/audio", headers=headers, timeout=300
        ) as audio:
            assert audio.status_code == 200
            async for chunk in audio.aiter_bytes():
                stored.update(chunk)
        assert stored.hexdigest() == large_wav_sha256()
        assert audio.headers["ETag"] == f'"{stored.hexdigest()}"'
        deleted = await api.delete(f"/audio_recordings/{recording_id}", headers=headers)
        assert deleted.status_code == 204, deleted.text


LARGE_MB = 96
GROWTH_BOUND_MB = 16.0
"""With the bounds, 4-7 MB; without them this upload grew each by about 190 MB."""
_PIECE = b"\x00\x01" * (512 * 1024)
"""One MiB of 16-bit samples, barely above silence."""
_PIECES = LARGE_MB * 1_000_000 // len(_PIECE)


def _wav_header(data_bytes: int) -> bytes:
    """A 16 kHz mono 16-bit PCM WAV header for ``data_bytes`` of samples."""
    fmt = struct.pack("<HHIIHH", 1, 1, 16_000, 32_000, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", data_bytes)
    )


_WAV_HEADER = _wav_header(_PIECES * len(_PIECE))
_PART_HEAD = (
    b"--" + BOUNDARY + b"\r\n"
    b'Content-Disposition: form-data; name="file"; filename="large.wav"\r\n'
    b"Content-Type: audio/wav\r\n\r\n"
)
_PART_TAIL = b"\r\n--" + BOUNDARY + b"--\r\n"
LARGE_BODY = len(_PART_HEAD) + len(_WAV_HEADER) + _PIECES * len(_PIECE) + len(_PART_TAIL)


def large_wav_sha256() -> str:
    digest = hashlib.sha256(_WAV_HEADER)
    for _ in range(_PIECES):
        digest.update(_PIECE)
    return digest.hexdigest()


async def large_upload() -> AsyncIterator[bytes]:
    """The multipart body of the large WAV, made as it is sent: never whole in memory."""
    yield _PART_HEAD + _WAV_HEADER
    for _ in range(_PIECES):
        yield _PIECE
    yield _PART_TAIL


@contextlib.contextmanager
def rss_growth(processes: dict[str, psutil.Process]) -> Iterator[dict[str, float]]:
    """Yields a dict that, on exit, holds how far (MB) each process's resident memory rose
    above where it stood on entry, sampled every 20 ms."""
    idle = {name: proc.memory_info().rss for name, proc in processes.items()}
    peak = dict(idle)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            for name, proc in processes.items():
                peak[name] = max(peak[name], proc.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    growth: dict[str, float] = {}
    try:
        yield growth
    finally:
        done.set()
        sampler.join()
        growth.update({name: (peak[name] - idle[name]) / 1_000_000 for name in processes})
