"""A client's export (a streamed zip of everything held about them) and erasure (nothing left in
any table or in storage, audit entries aside)."""

from __future__ import annotations

import hashlib
import io
import json
import tracemalloc
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from sqlalchemy import update

from db.models import Annotation, AudioRecording, Report, Transcription
from db.repositories.recordings import Viewer
from db.session import Sessions, TenantId, tenant_session
from fluently.settings import Settings
from fluently.storage import LocalDiskStorage, make_storage
from serve_app.services import client_data
from serve_app.services.audit import Auditor
from tests.seeded_audio import storage_key, stored_recording
from tests.support import FIXTURES, Account, add_user, error_code, log_in, sign_up

WORDS = [
    {"word": "my", "start": 0.0, "end": 0.3, "probability": 0.9},
    {"word": "my", "start": 0.4, "end": 0.7, "probability": 0.9},
    {"word": "name", "start": 0.8, "end": 1.2, "probability": 0.9},
]
TRANSCRIPT_TEXT = "my my name"


async def new_client(visitor: httpx.AsyncClient, account: Account, name: str = "Ada") -> str:
    response = await visitor.post("/clients", headers=account.auth, json={"display_name": name})
    assert response.status_code == 201, response.text
    client_id: str = response.json()["id"]
    return client_id


async def session_of(
    sessions: Sessions, settings: Settings, account: Account, client_id: str, fixture: str
) -> str:
    """A session of the client whose audio is the fixture's bytes, with processing queued."""
    return await stored_recording(
        sessions,
        make_storage(settings),
        account,
        FIXTURES / fixture,
        client_id=client_id,
        queued_job=True,
    )


async def processed(sessions: Sessions, account: Account, recording_id: str) -> None:
    """What processing and one clinician review leave: a transcript, the automatic report,
    annotation versions 1 and 2, and a requested report made from version 2."""
    tenant_id = TenantId(uuid.UUID(account.user["tenant_id"]))
    rid = uuid.UUID(recording_id)
    segments = [{"start": 0.0, "end": 1.2, "text": TRANSCRIPT_TEXT, "words": WORDS}]
    event = {"type": "repetition", "text": "my my", "start": 0.0, "end": 0.7}
    async with tenant_session(sessions, tenant_id) as session:
        session.add(
            Transcription(
                tenant_id=tenant_id,
                recording_id=rid,
                text=TRANSCRIPT_TEXT,
                language="en",
                backend="local",
                model="tiny.en",
                segments=segments,
                chunks=[],
                coverage={},
            )
        )
        for version, events in ((1, []), (2, [event])):
            session.add(
                Annotation(
                    tenant_id=tenant_id,
                    recording_id=rid,
                    version=version,
                    segments=segments,
                    events=events,
                    metrics={"percent_syllables_stuttered": 33.3 if events else 0.0},
                    reviewed_by=uuid.UUID(account.user["id"]) if version == 2 else None,
                    reviewed_at=datetime.now(UTC) if version == 2 else None,
                )
            )
        for automatic, version in ((True, 1), (False, 2)):
            session.add(
                Report(
                    tenant_id=tenant_id,
                    recording_id=rid,
                    type="fluency_analysis",
                    language="en",
                    status="ready",
                    automatic=automatic,
                    annotation_version=version,
                    generator="template",
                    metrics={"percent_syllables_stuttered": 0.0},
                    content_markdown=f"# Report from version {version}\n",
                )
            )
        await session.execute(
            update(AudioRecording).where(AudioRecording.id == rid).values(status="processed")
        )


async def audit_rows(
    visitor: httpx.AsyncClient, admin: Account, action: str
) -> list[dict[str, Any]]:
    response = await visitor.get(f"/audit_events?action={action}&limit=200", headers=admin.auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def archive_of(response: httpx.Response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.text
    return zipfile.ZipFile(io.BytesIO(response.content))


class TestExportAccess:
    async def test_without_a_token_it_is_401(self, visitor: httpx.AsyncClient) -> None:
        response = await visitor.get(f"/clients/{uuid.uuid4()}/export")
        assert response.status_code == 401

    async def test_another_clinic_unassigned_member_and_unknown_ids_get_404(
        self, visitor: httpx.AsyncClient
    ) -> None:
        admin = await sign_up(visitor)
        other_clinic = await sign_up(visitor)
        member = await log_in(visitor, await add_user(visitor, admin))
        client_id = await new_client(visitor, admin)
        for who, path in (
            (other_clinic, f"/clients/{client_id}/export"),
            (member, f"/clients/{client_id}/export"),
            (admin, f"/clients/{uuid.uuid4()}/export"),
        ):
            response = await visitor.get(path, headers=who.auth)
            assert response.status_code == 404, response.text
            assert error_code(response) == "not_found"
        bad = await visitor.get("/clients/not-a-uuid/export", headers=admin.auth)
        assert bad.status_code == 422
        assert error_code(bad) == "validation_error"
        assert await audit_rows(visitor, admin, "client_exported") == []

    async def test_an_assigned_member_may_export(self, visitor: httpx.AsyncClient) -> None:
        admin = await sign_up(visitor)
        member = await log_in(visitor, await add_user(visitor, admin))
        client_id = await new_client(visitor, admin)
        assigned = await visitor.post(
            f"/clients/{client_id}/assignments",
            headers=admin.auth,
            json={"user_id": member.user["id"]},
        )
        assert assigned.status_code == 201, assigned.text
        archive = archive_of(await visitor.get(f"/clients/{client_id}/export", headers=member.auth))
        assert json.loads(archive.read("manifest.json"))["client"]["id"] == client_id


class TestExportContents:
    async def test_the_zip_holds_audio_transcripts_annotations_reports_and_a_manifest(
        self, visitor: httpx.AsyncClient, sessions: Sessions, settings: Settings
    ) -> None:
        admin = await sign_up(visitor)
        client_id = await new_client(visitor, admin, name="Ada Lovelace")
        kept = await session_of(sessions, settings, admin, client_id, "jfk.opus")
        expired = await session_of(sessions, settings, admin, client_id, "jfk.mp3")
        await processed(sessions, admin, kept)
        await processed(sessions, admin, expired)
        await _expire_audio(sessions, settings, admin, expired)
        elsewhere = await session_of(
            sessions, settings, admin, await new_client(visitor, admin), "jfk.ogg"
        )

        response = await visitor.get(f"/clients/{client_id}/export", headers=admin.auth)
        archive = archive_of(response)
        assert response.headers["content-type"] == "application/zip"
        assert response.headers["content-disposition"] == (
            f'attachment; filename="client-{client_id}.zip"'
        )
        assert archive.testzip() is None
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))

        assert manifest["client"]["display_name"] == "Ada Lovelace"
        assert [r["id"] for r in manifest["recordings"]] == [kept, expired]
        assert not any(elsewhere in name for name in names)
        folder = f"recordings/{kept}"
        assert archive.read(f"{folder}/audio.opus") == (FIXTURES / "jfk.opus").read_bytes()
        assert not any(n.startswith(f"recordings/{expired}/audio") for n in names)
        by_id = {r["id"]: r for r in manifest["recordings"]}
        assert by_id[kept]["audio"] == f"{folder}/audio.opus"
        assert by_id[expired]["audio"] is None
        assert by_id[expired]["audio_deleted_at"] is not None
        for recording_id in (kept, expired):
            assert by_id[recording_id]["annotation_versions"] == [1, 2]

        assert archive.read(f"{folder}/transcript.txt").decode() == TRANSCRIPT_TEXT + "\n"
        assert json.loads(archive.read(f"{folder}/transcript.json"))["text"] == TRANSCRIPT_TEXT
        assert "00:00:00,000 --> 00:00:01,200" in archive.read(f"{folder}/transcript.srt").decode()
        assert archive.read(f"{folder}/transcript.vtt").decode().startswith("WEBVTT")
        v2 = json.loads(archive.read(f"{folder}/annotations/v2.json"))
        assert v2["version"] == 2 and v2["events"][0]["type"] == "repetition"
        assert v2["reviewed_by"] == admin.user["id"]
        report_ids = by_id[kept]["reports"]
        assert len(report_ids) == 2
        for report_id in report_ids:
            report = json.loads(archive.read(f"{folder}/reports/{report_id}.json"))
            markdown = archive.read(f"{folder}/reports/{report_id}.md").decode()
            assert markdown == report["content_markdown"]

        listed = {f["path"]: f for f in manifest["files"]}
        assert set(listed) == names - {"manifest.json"}
        for path, entry in listed.items():
            data = archive.read(path)
            assert entry["sha256"] == hashlib.sha256(data).hexdigest(), path
            assert entry["size_bytes"] == len(data)

        exported = await audit_rows(visitor, admin, "client_exported")
        assert [(e["target_id"], e["actor_id"]) for e in exported] == [
            (client_id, admin.user["id"])
        ]

    async def test_a_client_without_sessions_exports_a_manifest_alone(
        self, visitor: httpx.AsyncClient
    ) -> None:
        admin = await sign_up(visitor)
        client_id = await new_client(visitor, admin)
        archive = archive_of(await visitor.get(f"/clients/{client_id}/export", headers=admin.auth))
        assert archive.namelist() == ["manifest.json"]
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["recordings"] == [] and manifest["files"] == []

    async def test_large_audio_streams_in_pieces_with_flat_memory(
        self, visitor: httpx.AsyncClient, sessions: Sessions, settings: Settings, tmp_path: Path
    ) -> None:
        """32 MiB of audio go out as pieces of at most about one storage chunk, and the
        archive's making never holds more than a few of them."""
        admin = await sign_up(visitor)
        client_id = await new_client(visitor, admin)
        recording_id = await session_of(sessions, settings, admin, client_id, "jfk.webm")
        big = tmp_path / "big"
        size = 32 * 1024 * 1024
        with big.open("wb") as out:
            for _ in range(size // (1024 * 1024)):
                out.write(uuid.uuid4().bytes * 65536)
        storage = make_storage(settings)
        key = await storage_key(sessions, admin, recording_id)
        storage.put_file(key, big)
        viewer = Viewer(
            tenant_id=TenantId(uuid.UUID(admin.user["tenant_id"])),
            user_id=uuid.UUID(admin.user["id"]),
            is_admin=True,
        )
        async with tenant_session(sessions, viewer.tenant_id) as session:
            export = await client_data.export_client(
                session,
                viewer=viewer,
                auditor=Auditor(request_id=None, client_ip=None),
                client_id=uuid.UUID(client_id),
                sessions=sessions,
                storage=storage,
            )
        tracemalloc.start()
        try:
            total, largest, pieces = 0, 0, 0
            async for piece in export.chunks:
                total += len(piece)
                largest = max(largest, len(piece))
                pieces += 1
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert total > size
        assert pieces > 16
        assert largest <= 2 * 1024 * 1024
        assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a {size >> 20} MiB member"


async def _expire_audio(
    sessions: Sessions, settings: Settings, account: Account, recording_id: str
) -> None:
    """What retention leaves: the object gone and ``audio_deleted_at`` set."""
    key = await storage_key(sessions, account, recording_id)
    make_storage(settings).delete(key)
    tenant_id = TenantId(uuid.UUID(account.user["tenant_id"]))
    async with tenant_session(sessions, tenant_id) as session:
        await session.execute(
            update(AudioRecording)
            .where(AudioRecording.id == uuid.UUID(recording_id))
            .values(audio_deleted_at=datetime.now(UTC))
        )


# Erasure


def rows_naming(superuser_conninfo: str, ids: list[str]) -> dict[str, int]:
    """Every table of the schema (audit entries aside) scanned for any of ``ids`` anywhere in
    a row (the row cast to text: keys, foreign keys and JSON alike), as a superuser (no RLS)."""
    found: dict[str, int] = {}
    with psycopg.connect(superuser_conninfo) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        ]
        assert {"clients", "audio_recordings", "annotations", "jobs"} <= set(tables)
        for table in tables:
            if table == "audit_events":
                continue
            query = sql.SQL("SELECT count(*) FROM {} t WHERE t::text ~ %s").format(
                sql.Identifier(table)
            )
            row = conn.execute(query, ("|".join(ids),)).fetchone()
            assert row is not None
            if row[0]:
                found[table] = row[0]
    return found


def objects_naming(settings: Settings, ids: list[str]) -> list[Path]:
    root = settings.data_dir / "audio"
    return [p for p in root.rglob("*") if any(i in str(p.relative_to(root)) for i in ids)]


class TestErasureAccess:
    async def test_without_a_token_it_is_401(self, visitor: httpx.AsyncClient) -> None:
        assert (await visitor.delete(f"/clients/{uuid.uuid4()}")).status_code == 401

    async def test_others_get_404_members_403_and_nothing_changes(
        self, visitor: httpx.AsyncClient, sessions: Sessions, settings: Settings
    ) -> None:
        admin = await sign_up(visitor)
        other_clinic = await sign_up(visitor)
        unassigned = await log_in(visitor, await add_user(visitor, admin))
        creator = await log_in(visitor, await add_user(visitor, admin))
        client_id = await new_client(visitor, creator)  # a member who adds a client sees it
        recording_id = await session_of(sessions, settings, creator, client_id, "jfk.opus")
        for who in (other_clinic, unassigned):
            response = await visitor.delete(f"/clients/{client_id}", headers=who.auth)
            assert response.status_code == 404, response.text
            assert error_code(response) == "not_found"
        response = await visitor.delete(f"/clients/{client_id}", headers=creator.auth)
        assert response.status_code == 403
        assert error_code(response) == "forbidden"
        assert (
            await visitor.delete(f"/clients/{uuid.uuid4()}", headers=admin.auth)
        ).status_code == 404
        bad = await visitor.delete("/clients/not-a-uuid", headers=admin.auth)
        assert bad.status_code == 422
        assert (await visitor.get(f"/clients/{client_id}", headers=admin.auth)).status_code == 200
        assert (
            await visitor.get(f"/audio_recordings/{recording_id}", headers=admin.auth)
        ).status_code == 200
        assert objects_naming(settings, [recording_id])
        assert await audit_rows(visitor, admin, "client_erased") == []


class TestErasure:
    async def test_nothing_names_the_client_or_its_sessions_afterwards(
        self,
        visitor: httpx.AsyncClient,
        sessions: Sessions,
        settings: Settings,
        superuser_conninfo: str,
    ) -> None:
        admin = await sign_up(visitor)
        member = await log_in(visitor, await add_user(visitor, admin))
        client_id = await new_client(visitor, admin, name="Grace Hopper")
        await visitor.post(
            f"/clients/{client_id}/assignments",
            headers=admin.auth,
            json={"user_id": member.user["id"]},
        )
        first = await session_of(sessions, settings, member, client_id, "jfk.opus")
        second = await session_of(sessions, settings, admin, client_id, "jfk.mp3")
        await processed(sessions, admin, first)
        other_client = await new_client(visitor, admin)
        bystander = await session_of(sessions, settings, admin, other_client, "jfk.ogg")
        assert (await visitor.get(f"/clients/{client_id}/export", headers=admin.auth)).is_success
        ids = [client_id, first, second]
        before = rows_naming(superuser_conninfo, ids)
        assert {"clients", "client_assignments", "audio_recordings", "transcriptions"} <= set(
            before
        )
        assert {"annotations", "reports", "jobs"} <= set(before)
        assert len(objects_naming(settings, ids)) == 2

        response = await visitor.delete(f"/clients/{client_id}", headers=admin.auth)
        assert response.status_code == 204, response.text

        assert rows_naming(superuser_conninfo, ids) == {}
        assert objects_naming(settings, ids) == []
        assert (await visitor.get(f"/clients/{client_id}", headers=admin.auth)).status_code == 404
        assert (
            await visitor.delete(f"/clients/{client_id}", headers=admin.auth)
        ).status_code == 404
        for recording_id in (first, second):
            gone = await visitor.get(f"/audio_recordings/{recording_id}", headers=admin.auth)
            assert gone.status_code == 404
        assert (
            await visitor.get(f"/audio_recordings/{bystander}", headers=admin.auth)
        ).status_code == 200
        assert objects_naming(settings, [bystander])
        erased = await audit_rows(visitor, admin, "client_erased")
        assert [(e["target_id"], e["actor_id"]) for e in erased] == [(client_id, admin.user["id"])]
        exported = await audit_rows(visitor, admin, "client_exported")
        assert [e["target_id"] for e in exported] == [client_id]
        everything = (await visitor.get("/audit_events?limit=200", headers=admin.auth)).json()
        assert client_id in json.dumps(everything)  # pseudonymous: an id that names no one now
        assert "Grace Hopper" not in json.dumps(everything)

    async def test_erasing_again_after_a_crash_between_objects_and_rows_finishes_the_job(
        self,
        visitor: httpx.AsyncClient,
        sessions: Sessions,
        settings: Settings,
        superuser_conninfo: str,
    ) -> None:
        """Objects go first: a crash after them leaves the client in place with its audio
        already gone, and the next DELETE removes the rows."""
        admin = await sign_up(visitor)
        client_id = await new_client(visitor, admin)
        recording_id = await session_of(sessions, settings, admin, client_id, "jfk.m4a")
        storage = make_storage(settings)
        assert isinstance(storage, LocalDiskStorage)
        storage.delete(await storage_key(sessions, admin, recording_id))
        response = await visitor.delete(f"/clients/{client_id}", headers=admin.auth)
        assert response.status_code == 204
        assert rows_naming(superuser_conninfo, [client_id, recording_id]) == {}
