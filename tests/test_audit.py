"""The audit log: ``GET /audit_events`` for admins, one entry per audited action, and an
``audit_events`` table that the app role can only append to (Postgres refuses the rest)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import errors

from db.repositories.audit import Action
from db.session import Sessions
from fluently.storage import StorageProvider
from tests.seeded_audio import stored_recording
from tests.support import (
    FIXTURES,
    PASSWORD,
    Account,
    add_user,
    error_code,
    log_in,
    sign_up,
    with_cookie,
)

TRANSCRIPT_SEGMENTS = (
    '[{"start": 0.0, "end": 1.5, "text": "ask not", "words": ['
    '{"word": "ask", "start": 0.0, "end": 0.6, "probability": 0.9}, '
    '{"word": "not", "start": 0.7, "end": 1.5, "probability": 0.9}]}]'
)


async def entries(
    client: httpx.AsyncClient, admin: Account, action: str | None = None
) -> list[dict[str, Any]]:
    query = "/audit_events?limit=200" + (f"&action={action}" if action else "")
    response = await client.get(query, headers=admin.auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def tenant_of(account: Account) -> str:
    tenant_id: str = account.user["tenant_id"]
    return tenant_id


class TestListingAccess:
    async def test_without_a_token_it_is_401(self, visitor: httpx.AsyncClient) -> None:
        response = await visitor.get("/audit_events")
        assert response.status_code == 401

    async def test_members_get_403(self, visitor: httpx.AsyncClient) -> None:
        admin = await sign_up(visitor)
        member = await log_in(visitor, await add_user(visitor, admin))
        response = await visitor.get("/audit_events", headers=member.auth)
        assert response.status_code == 403
        assert error_code(response) == "forbidden"

    async def test_an_admin_sees_their_clinic_only(self, visitor: httpx.AsyncClient) -> None:
        admin = await sign_up(visitor)
        other = await sign_up(visitor)
        await add_user(visitor, other)
        mine = await entries(visitor, admin)
        assert mine and all(e["target_id"] != other.user["id"] for e in mine)
        assert {e["action"] for e in await entries(visitor, other)} == {"user_created"}
        assert all(e["target_id"] != admin.user["id"] for e in await entries(visitor, other))


class TestListing:
    async def test_newest_first_in_pages(self, visitor: httpx.AsyncClient) -> None:
        admin = await sign_up(visitor)
        added = [await add_user(visitor, admin) for _ in range(3)]
        assert len(added) == 3
        everything = await entries(visitor, admin, "user_created")
        assert len(everything) == 4  # the signup's admin and the three added
        ids = [e["id"] for e in everything]
        assert ids == sorted(ids, reverse=True)
        seen: list[int] = []
        cursor = None
        while True:
            query = "/audit_events?action=user_created&limit=3" + (
                f"&cursor={cursor}" if cursor else ""
            )
            page = (await visitor.get(query, headers=admin.auth)).json()
            seen += [e["id"] for e in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == ids

    async def test_bad_action_limit_or_cursor_is_refused(self, visitor: httpx.AsyncClient) -> None:
        admin = await sign_up(visitor)
        for query, status, code in (
            ("action=dropped_tables", 422, "validation_error"),
            ("limit=0", 422, "validation_error"),
            ("limit=201", 422, "validation_error"),
            ("cursor=abc", 400, "invalid_cursor"),
            ("cursor=99999999999999999999", 400, "invalid_cursor"),
        ):
            response = await visitor.get(f"/audit_events?{query}", headers=admin.auth)
            assert response.status_code == status, (query, response.text)
            assert error_code(response) == code


class TestAppendOnly:
    def test_the_app_role_may_insert_and_select_but_not_update_or_delete(
        self, app_conninfo: str
    ) -> None:
        with psycopg.connect(app_conninfo) as conn:
            tenant_id = uuid.uuid4()
            conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(tenant_id),))
            conn.execute("INSERT INTO tenants (id, name) VALUES (%s, 'Append-only')", (tenant_id,))
            conn.execute(
                "INSERT INTO audit_events (tenant_id, action, target_type, target_id) "
                "VALUES (%s, 'client_read', 'client', 'c1')",
                (tenant_id,),
            )
            conn.commit()
            for statement in (
                "UPDATE audit_events SET target_id = 'someone else'",
                "DELETE FROM audit_events",
                "TRUNCATE audit_events",
            ):
                with pytest.raises(errors.InsufficientPrivilege):
                    conn.execute(statement)
                conn.rollback()
            rows = conn.execute("SELECT action, target_id FROM audit_events").fetchall()
            assert rows == [("client_read", "c1")]


class TestAuditedActions:
    async def test_a_login_and_a_failed_login_of_a_known_account(
        self, visitor: httpx.AsyncClient
    ) -> None:
        admin = await sign_up(visitor)
        await log_in(visitor, admin.email)
        wrong = await visitor.post(
            "/auth/login",
            json={"email": admin.email, "password": "not the password"},
            headers={"X-Request-ID": "failed-login-1"},
        )
        assert wrong.status_code == 401
        unknown = await visitor.post(
            "/auth/login", json={"email": f"nobody-{uuid.uuid4().hex}@x.example", "password": "x"}
        )
        assert unknown.status_code == 401
        [login] = await entries(visitor, admin, "login")
        [failed] = await entries(visitor, admin, "login_failed")
        for entry in (login, failed):
            assert entry["target_type"] == "user" and entry["target_id"] == admin.user["id"]
            assert entry["actor_id"] is None
            assert entry["client_ip"]
        assert failed["request_id"] == "failed-login-1"
        assert failed["id"] > login["id"]

    async def test_refresh_token_reuse(self, visitor: httpx.AsyncClient) -> None:
        admin = await sign_up(visitor)
        rotated = await with_cookie(visitor, "/auth/refresh", admin.refresh_token)
        assert rotated.status_code == 200
        assert await entries(visitor, admin, "refresh_token_reused") == []
        reused = await with_cookie(visitor, "/auth/refresh", admin.refresh_token)
        assert reused.status_code == 401
        [entry] = await entries(visitor, admin, "refresh_token_reused")
        assert entry["target_id"] == admin.user["id"]
        assert set(entry["details"]) == {"family_id"}

    async def test_users_created_by_signup_and_by_an_admin(
        self, visitor: httpx.AsyncClient
    ) -> None:
        admin = await sign_up(visitor)
        email = await add_user(visitor, admin)
        member = await log_in(visitor, email, PASSWORD)
        created = await entries(visitor, admin, "user_created")
        assert [(e["target_id"], e["actor_id"], e["details"]["role"]) for e in created] == [
            (member.user["id"], admin.user["id"], "member"),
            (admin.user["id"], None, "admin"),
        ]
        refused = await visitor.post(
            "/users", headers=admin.auth, json={"email": email, "password": PASSWORD}
        )
        assert refused.status_code == 409
        assert len(await entries(visitor, admin, "user_created")) == 2

    async def test_a_recording_read_but_not_a_304(
        self, visitor: httpx.AsyncClient, sessions: Sessions, storage: StorageProvider
    ) -> None:
        admin = await sign_up(visitor)
        recording_id = await stored_recording(sessions, storage, admin, FIXTURES / "jfk.opus")
        read = await visitor.get(f"/audio_recordings/{recording_id}", headers=admin.auth)
        assert read.status_code == 200
        again = await visitor.get(
            f"/audio_recordings/{recording_id}",
            headers={**admin.auth, "If-None-Match": read.headers["etag"]},
        )
        assert again.status_code == 304
        [entry] = await entries(visitor, admin, "recording_read")
        assert (entry["target_type"], entry["target_id"]) == ("recording", recording_id)
        assert entry["actor_id"] == admin.user["id"]
        other = await sign_up(visitor)
        hidden = await visitor.get(f"/audio_recordings/{recording_id}", headers=other.auth)
        assert hidden.status_code == 404
        assert await entries(visitor, other, "recording_read") == []

    async def test_a_head_is_not_audited(
        self, visitor: httpx.AsyncClient, sessions: Sessions, storage: StorageProvider
    ) -> None:
        """``HEAD`` answers with a ``GET``'s headers and no content: it discloses nothing of the
        recording, its audio or its transcript, so, like a 304, it is not a read."""
        admin = await sign_up(visitor)
        recording_id = await stored_recording(sessions, storage, admin, FIXTURES / "jfk.opus")
        paths = {
            "recording_read": f"/audio_recordings/{recording_id}",
            "audio_read": f"/audio_recordings/{recording_id}/audio",
        }
        for path in paths.values():
            head = await visitor.head(path, headers=admin.auth)
            assert head.status_code == 200 and not head.content
        for action in paths:
            assert await entries(visitor, admin, action) == [], action
        for path in paths.values():
            assert (await visitor.get(path, headers=admin.auth)).status_code == 200
        for action in paths:
            assert len(await entries(visitor, admin, action)) == 1, action

    async def test_a_recording_deleted_by_its_uploader_not_by_an_outsider(
        self, visitor: httpx.AsyncClient, sessions: Sessions, storage: StorageProvider
    ) -> None:
        admin = await sign_up(visitor)
        recording_id = await stored_recording(sessions, storage, admin, FIXTURES / "jfk.opus")
        other = await sign_up(visitor)
        refused = await visitor.delete(f"/audio_recordings/{recording_id}", headers=other.auth)
        assert refused.status_code == 404
        assert await entries(visitor, other, "recording_deleted") == []
        deleted = await visitor.delete(f"/audio_recordings/{recording_id}", headers=admin.auth)
        assert deleted.status_code == 204
        [entry] = await entries(visitor, admin, "recording_deleted")
        assert (entry["target_type"], entry["target_id"]) == ("recording", recording_id)
        assert entry["actor_id"] == admin.user["id"]

    async def test_a_transcript_exported(
        self,
        visitor: httpx.AsyncClient,
        app_conninfo: str,
        sessions: Sessions,
        storage: StorageProvider,
    ) -> None:
        admin = await sign_up(visitor)
        recording_id = await stored_recording(sessions, storage, admin, FIXTURES / "jfk.mp3")
        not_ready = await visitor.get(
            f"/audio_recordings/{recording_id}/transcript", headers=admin.auth
        )
        assert not_ready.status_code == 409
        with psycopg.connect(app_conninfo) as conn:
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_of(admin),))
            conn.execute(
                "INSERT INTO transcriptions (tenant_id, recording_id, text, language, backend, "
                "model, segments, chunks) VALUES (%s, %s, 'ask not', 'en', 'local', 'tiny.en', "
                "%s::jsonb, '[]'::jsonb)",
                (tenant_of(admin), recording_id, TRANSCRIPT_SEGMENTS),
            )
        srt = await visitor.get(
            f"/audio_recordings/{recording_id}/transcript?format=srt", headers=admin.auth
        )
        assert srt.status_code == 200
        assert "ask not" in srt.text
        [entry] = await entries(visitor, admin, "transcript_exported")
        assert entry["target_id"] == recording_id
        assert entry["details"] == {"format": "srt"}


def test_the_consoles_action_filter_offers_every_action() -> None:
    """The audit page's ``action`` choices are written out in the console; a new action must
    be offered there too (``job_retried`` once was not)."""
    page = (FIXTURES.parents[1] / "web" / "src" / "pages" / "AuditLog.tsx").read_text()
    offered = re.findall(r'"(\w+)"', page.split("const ACTIONS = [", 1)[1].split("];", 1)[0])
    assert len(offered) == len(set(offered))
    assert set(offered) == {a.value for a in Action}
