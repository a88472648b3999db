"""Playing a recording: ``GET /audio_recordings/{id}/audio`` streams the stored audio with the
media type its bytes show, answers byte ranges so a player can seek, hides other clinics'
recordings and says clearly when retention removed the audio."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from db.models import AudioRecording
from db.session import Sessions, tenant_session
from fluently.settings import Settings
from fluently.storage import make_storage
from pipelines.media_types import HEAD_BYTES, UNKNOWN, media_type
from tests.seeded_audio import storage_key, stored_recording, tenant_of
from tests.support import (
    FIXTURES,
    SHARED_AUDIO,
    Account,
    add_user,
    error_code,
    log_in,
    sign_up,
    upload,
)

OPUS = FIXTURES / "jfk.opus"


async def seeded(sessions: Sessions, settings: Settings, account: Account, audio: Path) -> str:
    return await stored_recording(sessions, make_storage(settings), account, audio)


async def audio_entries(client: httpx.AsyncClient, admin: Account) -> list[dict[str, Any]]:
    response = await client.get("/audit_events?action=audio_read&limit=50", headers=admin.auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestGetAudio:
    async def test_it_needs_a_signed_in_user(
        self, visitor: httpx.AsyncClient, sessions: Sessions, settings: Settings
    ) -> None:
        owner = await sign_up(visitor)
        recording_id = await seeded(sessions, settings, owner, OPUS)
        response = await visitor.get(f"/audio_recordings/{recording_id}/audio")
        assert response.status_code == 401

    async def test_another_clinic_gets_404_as_for_no_recording(
        self, visitor: httpx.AsyncClient, sessions: Sessions, settings: Settings
    ) -> None:
        owner = await sign_up(visitor)
        other = await sign_up(visitor)
        recording_id = await seeded(sessions, settings, owner, OPUS)
        theirs = await visitor.get(f"/audio_recordings/{recording_id}/audio", headers=other.auth)
        assert theirs.status_code == 404
        assert error_code(theirs) == "not_found"
        nothing = await visitor.get(f"/audio_recordings/{uuid.uuid4()}/audio", headers=other.auth)
        assert (nothing.status_code, nothing.json()) == (theirs.status_code, theirs.json())

    async def test_a_member_cannot_play_a_colleagues_recording(
        self, visitor: httpx.AsyncClient, sessions: Sessions, settings: Settings
    ) -> None:
        admin = await sign_up(visitor)
        member = await log_in(visitor, await add_user(visitor, admin))
        recording_id = await seeded(sessions, settings, admin, OPUS)
        response = await visitor.get(f"/audio_recordings/{recording_id}/audio", headers=member.auth)
        assert response.status_code == 404

    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            (FIXTURES / "jfk.webm", "audio/webm"),
            (FIXTURES / "jfk.mp3", "audio/mpeg"),
            (SHARED_AUDIO / "jfk.flac", "audio/flac"),
        ],
    )
    async def test_the_owner_gets_the_uploaded_bytes_with_their_media_type(
        self, visitor: httpx.AsyncClient, source: Path, expected: str
    ) -> None:
        owner = await sign_up(visitor)
        uploaded = await upload(visitor, owner.auth, source)
        assert uploaded.status_code == 202, uploaded.text
        recording_id = uploaded.json()["recording_id"]
        response = await visitor.get(f"/audio_recordings/{recording_id}/audio", headers=owner.auth)
        assert response.status_code == 200
        uploaded_bytes = await asyncio.to_thread(source.read_bytes)
        assert response.content == uploaded_bytes
        # Uploaded as application/octet-stream: the type comes from the bytes.
        assert response.headers["content-type"] == expected
        assert response.headers["content-length"] == str(len(uploaded_bytes))
        assert response.headers["accept-ranges"] == "bytes"
        assert response.headers["x-content-type-options"] == "nosniff"

    async def test_a_range_answers_206_with_that_part(
        self, visitor: httpx.AsyncClient, sessions: Sessions, settings: Settings
    ) -> None:
        owner = await sign_up(visitor)
        recording_id = await seeded(sessions, settings, owner, OPUS)
        data, size = OPUS.read_bytes(), OPUS.stat().st_size
        path = f"/audio_recordings/{recording_id}/audio"
        cases = {
            "bytes=1000-1999": (1000, 2000),
            "bytes=5000-": (5000, size),
            "bytes=-300": (size - 300, size),
            f"bytes=100-{size + 5000}": (100, size),
        }
        for header, (start, stop) in cases.items():
            response = await visitor.get(path, headers={**owner.auth, "Range": header})
            assert response.status_code == 206, header
            assert response.content == data[start:stop], header
            assert response.headers["content-range"] == f"bytes {start}-{stop - 1}/{size}"
            assert response.headers["content-length"] == str(stop - start)
            assert response.headers["content-type"] == "audio/ogg"

    async def test_a_range_past_the_end_answers_416(
        self, visitor: httpx.AsyncClient, sessions: Sessions, settings: Settings
    ) -> None:
        owner = await sign_up(visitor)
        recording_id = await seeded(sessions, settings, owner, OPUS)
        size = OPUS.stat().st_size
        path = f"/audio_recordings/{recording_id}/audio"
        for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
            response = await visitor.get(path, headers={**owner.auth, "Range": header})
            assert response.status_code == 416, header
            assert error_code(response) == "range_not_satisfiable"
            assert response.headers["content-range"] == f"bytes */{size}"

    async def test_ranges_it_does_not_serve_get_the_whole_file(
        self, visitor: httpx.AsyncClient, sessions: Sessions, settings: Settings
    ) -> None:
        owner = await sign_up(visitor)
        recording_id = await seeded(sessions, settings, owner, OPUS)
        path = f"/audio_recordings/{recording_id}/audio"
        whole = await visitor.get(path, headers=owner.auth)
        for headers in (
            {"Range": "bytes=0-10, 20-30"},
            {"Range": "items=0-10"},
            {"Range": "bytes=50-10"},
            {"Range": "bytes=10-20", "If-Range": '"another version"'},
        ):
            response = await visitor.get(path, headers={**owner.auth, **headers})
            assert response.status_code == 200, headers
            assert response.content == OPUS.read_bytes()
        same = await visitor.get(
            path, headers={**owner.auth, "Range": "bytes=10-19", "If-Range": whole.headers["etag"]}
        )
        assert same.status_code == 206
        assert same.content == OPUS.read_bytes()[10:20]

    async def test_audio_removed_by_retention_answers_410(
        self, visitor: httpx.AsyncClient, sessions: Sessions, settings: Settings
    ) -> None:
        owner = await sign_up(visitor)
        recording_id = await seeded(sessions, settings, owner, OPUS)
        make_storage(settings).delete(await storage_key(sessions, owner, recording_id))
        path = f"/audio_recordings/{recording_id}/audio"
        # Between retention's two steps: the object gone, the row not yet marked.
        removing = await visitor.get(path, headers=owner.auth)
        assert removing.status_code == 410
        assert error_code(removing) == "audio_deleted"
        async with tenant_session(sessions, tenant_of(owner)) as session:
            await session.execute(
                update(AudioRecording)
                .where(AudioRecording.id == uuid.UUID(recording_id))
                .values(audio_deleted_at=datetime.now(UTC))
            )
        removed = await visitor.get(path, headers={**owner.auth, "Range": "bytes=0-"})
        assert removed.status_code == 410
        assert error_code(removed) == "audio_deleted"
        assert "retention" in removed.json()["error"]["message"]
        # The recording itself is still there.
        assert (
            await visitor.get(f"/audio_recordings/{recording_id}", headers=owner.auth)
        ).is_success

    async def test_playing_is_audited_once_not_per_seek(
        self, visitor: httpx.AsyncClient, sessions: Sessions, settings: Settings
    ) -> None:
        owner = await sign_up(visitor)
        recording_id = await seeded(sessions, settings, owner, OPUS)
        path = f"/audio_recordings/{recording_id}/audio"
        assert (await visitor.get(path, headers=owner.auth)).status_code == 200
        seek = await visitor.get(path, headers={**owner.auth, "Range": "bytes=4000-"})
        assert seek.status_code == 206
        [entry] = await audio_entries(visitor, owner)
        assert entry["target_id"] == recording_id
        assert entry["actor_id"] == owner.user["id"]


class TestMediaTypes:
    @pytest.mark.parametrize(
        ("fixture", "expected"),
        [
            ("disfluent_block.wav", "audio/wav"),
            ("jfk.ogg", "audio/ogg"),
            ("jfk.opus", "audio/ogg"),
            ("jfk.webm", "audio/webm"),
            ("jfk.mp3", "audio/mpeg"),
            ("jfk.m4a", "audio/mp4"),
            ("jfk_audio_only.mp4", "audio/mp4"),
            ("corrupt_frames.flac", "audio/flac"),
            ("notes.txt", UNKNOWN),
        ],
    )
    def test_the_type_comes_from_the_first_bytes(self, fixture: str, expected: str) -> None:
        with (FIXTURES / fixture).open("rb") as f:
            assert media_type(f.read(HEAD_BYTES)) == expected

    @pytest.mark.parametrize("magic", [b"RF64", b"BW64"])
    def test_a_wave_file_past_4_gib_is_wav(self, magic: bytes) -> None:
        """RF64 and BW64 keep WAVE's layout with another first chunk id (and its size
        0xFFFFFFFF, the real one in a ds64 chunk)."""
        head = magic + b"\xff\xff\xff\xffWAVEds64" + bytes(HEAD_BYTES - 16)
        assert media_type(head) == "audio/wav"
