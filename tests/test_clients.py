"""Clients, their assignments and sessions through the real app: who sees which http and which
recordings, what bad input is refused, and what the audit log records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from tests.support import FIXTURES, Account, add_user, error_code, log_in, sign_up, upload


@pytest.fixture
def http(visitor: httpx.AsyncClient) -> httpx.AsyncClient:
    """A client of the in-process app from an address of its own (login limits are per IP)."""
    return visitor


async def _client(http: httpx.AsyncClient, account: Account, **fields: Any) -> dict[str, Any]:
    response = await http.post(
        "/clients", headers=account.auth, json={"display_name": "Sam Client", **fields}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _member(http: httpx.AsyncClient, admin: Account) -> Account:
    return await log_in(http, await add_user(http, admin))


async def _assign(http: httpx.AsyncClient, admin: Account, client_id: str, user_id: str) -> None:
    response = await http.post(
        f"/clients/{client_id}/assignments", headers=admin.auth, json={"user_id": user_id}
    )
    assert response.status_code == 201, response.text


async def _clients(http: httpx.AsyncClient, account: Account) -> list[dict[str, Any]]:
    response = await http.get("/clients?limit=100", headers=account.auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _recordings(http: httpx.AsyncClient, account: Account) -> list[str]:
    response = await http.get("/audio_recordings?limit=100", headers=account.auth)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def _audit_rows(
    app_conninfo: str, tenant_id: str, target_id: str
) -> list[tuple[str, str | None, dict[str, Any]]]:
    """(action, actor_id, details) of the entries about ``target_id``, oldest first."""
    with psycopg.connect(app_conninfo) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        rows = conn.execute(
            "SELECT action, actor_id::text, details FROM audit_events "
            "WHERE target_type = 'client' AND target_id = %s ORDER BY id",
            (target_id,),
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


class TestCreateAndRead:
    async def test_an_admin_creates_and_reads_a_client(self, http: httpx.AsyncClient) -> None:
        admin = await sign_up(http)
        response = await http.post(
            "/clients",
            headers=admin.auth,
            json={
                "display_name": "  Alex P.  ",
                "external_ref": "MRN-0042",
                "date_of_birth": "2016-04-03",
                "notes": "Referred by school SLP.",
            },
        )
        assert response.status_code == 201, response.text
        created = response.json()
        assert response.headers["location"] == f"/clients/{created['id']}"
        assert created["display_name"] == "Alex P."
        assert created["external_ref"] == "MRN-0042"
        assert created["date_of_birth"] == "2016-04-03"
        assert created["notes"] == "Referred by school SLP."
        assert created["created_by"] == admin.user["id"]
        read = await http.get(f"/clients/{created['id']}", headers=admin.auth)
        assert read.status_code == 200
        assert read.json() == created
        assert [c["id"] for c in await _clients(http, admin)] == [created["id"]]

    async def test_blank_optional_fields_are_stored_as_null(self, http: httpx.AsyncClient) -> None:
        admin = await sign_up(http)
        created = await _client(http, admin, external_ref=" ", notes="", date_of_birth="")
        assert (created["external_ref"], created["notes"], created["date_of_birth"]) == (
            None,
            None,
            None,
        )

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"display_name": ""},
            {"display_name": "   "},
            {"display_name": "x" * 201},
            {"display_name": 42},
            {"display_name": "A", "unknown": 1},
            {"display_name": "A", "date_of_birth": "yesterday"},
            {"display_name": "A", "date_of_birth": "1850-01-01"},
            {
                "display_name": "A",
                "date_of_birth": (datetime.now(UTC) + timedelta(days=2)).date().isoformat(),
            },
            {"display_name": "A", "external_ref": "r" * 201},
            {"display_name": "A", "notes": ["not", "text"]},
            # Postgres stores no NUL; other controls have no place in a name or a reference.
            {"display_name": "\u0000"},
            {"display_name": "A\u001b[31m"},
            {"display_name": "A", "external_ref": "r\u0000"},
            {"display_name": "A", "notes": "line one\nline two\u0000"},
        ],
    )
    async def test_bad_fields_answer_422_and_create_nothing(
        self, http: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        admin = await sign_up(http)
        response = await http.post("/clients", headers=admin.auth, json=body)
        assert response.status_code == 422, response.text
        assert error_code(response) == "validation_error"
        assert response.json()["error"]["message"]
        assert await _clients(http, admin) == []

    async def test_a_member_who_creates_a_client_is_assigned_to_it(
        self, http: httpx.AsyncClient
    ) -> None:
        admin = await sign_up(http)
        member = await _member(http, admin)
        other = await _member(http, admin)
        created = await _client(http, member)
        assignments = await http.get(f"/clients/{created['id']}/assignments", headers=member.auth)
        assert assignments.status_code == 200
        assert [(a["user_id"], a["email"], a["role"]) for a in assignments.json()] == [
            (member.user["id"], member.email, "member")
        ]
        assert [c["id"] for c in await _clients(http, member)] == [created["id"]]
        assert [c["id"] for c in await _clients(http, admin)] == [created["id"]]
        assert await _clients(http, other) == []
        assert (await http.get(f"/clients/{created['id']}", headers=other.auth)).status_code == 404

    async def test_requires_a_token(self, http: httpx.AsyncClient) -> None:
        assert (await http.post("/clients", json={"display_name": "A"})).status_code == 401
        assert (await http.get("/clients")).status_code == 401


class TestList:
    async def test_newest_first_with_a_cursor(self, http: httpx.AsyncClient) -> None:
        admin = await sign_up(http)
        made = [(await _client(http, admin, display_name=f"c{i}"))["id"] for i in range(5)]
        seen: list[str] = []
        cursor = None
        for _ in range(5):
            query = "/clients?limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = (await http.get(query, headers=admin.auth)).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(made))

    async def test_a_bad_cursor_or_limit_is_refused(self, http: httpx.AsyncClient) -> None:
        admin = await sign_up(http)
        bad_cursor = await http.get("/clients?cursor=not-a-cursor", headers=admin.auth)
        assert bad_cursor.status_code == 400
        assert error_code(bad_cursor) == "invalid_cursor"
        bad_limit = await http.get("/clients?limit=0", headers=admin.auth)
        assert bad_limit.status_code == 422
        assert error_code(bad_limit) == "validation_error"

    async def test_members_list_only_their_clients(self, http: httpx.AsyncClient) -> None:
        admin = await sign_up(http)
        member = await _member(http, admin)
        theirs = await _client(http, admin, display_name="theirs")
        await _client(http, admin, display_name="not theirs")
        await _assign(http, admin, theirs["id"], member.user["id"])
        assert [c["id"] for c in await _clients(http, member)] == [theirs["id"]]
        assert len(await _clients(http, admin)) == 2
        assert await _clients(http, await sign_up(http)) == []


class TestUpdate:
    async def test_only_the_fields_sent_change(self, http: httpx.AsyncClient) -> None:
        admin = await sign_up(http)
        created = await _client(http, admin, external_ref="R1", notes="first")
        response = await http.patch(
            f"/clients/{created['id']}",
            headers=admin.auth,
            json={"notes": "second", "date_of_birth": "2015-01-02"},
        )
        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["notes"] == "second"
        assert updated["date_of_birth"] == "2015-01-02"
        assert (updated["display_name"], updated["external_ref"]) == ("Sam Client", "R1")
        assert updated["updated_at"] > created["updated_at"]
        cleared = await http.patch(
            f"/clients/{created['id']}", headers=admin.auth, json={"external_ref": None}
        )
        assert cleared.json()["external_ref"] is None
        assert cleared.json()["notes"] == "second"

    @pytest.mark.parametrize(
        "body",
        [
            {"display_name": None},
            {"display_name": ""},
            {"display_name": "B", "owner": "me"},
            {"date_of_birth": "2015-13-40"},
            {"notes": 7},
            {"notes": "\u0000"},
            {"display_name": "B\u0007"},
        ],
    )
    async def test_bad_fields_answer_422_and_change_nothing(
        self, http: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        admin = await sign_up(http)
        created = await _client(http, admin, notes="keep")
        response = await http.patch(f"/clients/{created['id']}", headers=admin.auth, json=body)
        assert response.status_code == 422, response.text
        assert error_code(response) == "validation_error"
        after = (await http.get(f"/clients/{created['id']}", headers=admin.auth)).json()
        assert after == created

    async def test_an_assigned_member_may_update(self, http: httpx.AsyncClient) -> None:
        admin = await sign_up(http)
        member = await _member(http, admin)
        created = await _client(http, admin)
        await _assign(http, admin, created["id"], member.user["id"])
        response = await http.patch(
            f"/clients/{created['id']}", headers=member.auth, json={"display_name": "Renamed"}
        )
        assert response.status_code == 200
        assert response.json()["display_name"] == "Renamed"


class TestAssignments:
    async def test_assign_list_and_unassign(self, http: httpx.AsyncClient) -> None:
        admin = await sign_up(http)
        member = await _member(http, admin)
        created = await _client(http, admin)
        path = f"/clients/{created['id']}"
        assert (await http.get(path, headers=member.auth)).status_code == 404

        first = await http.post(
            f"{path}/assignments", headers=admin.auth, json={"user_id": member.user["id"]}
        )
        assert first.status_code == 201, first.text
        assert first.json()["user_id"] == member.user["id"]
        again = await http.post(
            f"{path}/assignments", headers=admin.auth, json={"user_id": member.user["id"]}
        )
        assert again.status_code == 200
        assert again.json() == first.json()
        listed = (await http.get(f"{path}/assignments", headers=admin.auth)).json()
        assert [a["user_id"] for a in listed] == [member.user["id"]]
        assert (await http.get(path, headers=member.auth)).status_code == 200

        removed = await http.delete(f"{path}/assignments/{member.user['id']}", headers=admin.auth)
        assert removed.status_code == 204
        assert (await http.get(path, headers=member.auth)).status_code == 404
        assert (await http.get(f"{path}/assignments", headers=admin.auth)).json() == []
        twice = await http.delete(f"{path}/assignments/{member.user['id']}", headers=admin.auth)
        assert twice.status_code == 404
        assert error_code(twice) == "assignment_not_found"

    async def test_only_users_of_the_clinic_can_be_assigned(self, http: httpx.AsyncClient) -> None:
        admin = await sign_up(http)
        elsewhere = await sign_up(http)
        created = await _client(http, admin)
        path = f"/clients/{created['id']}/assignments"
        for user_id in (elsewhere.user["id"], str(uuid.uuid4())):
            response = await http.post(path, headers=admin.auth, json={"user_id": user_id})
            assert response.status_code == 422, response.text
            assert error_code(response) == "user_not_found"
        for body in ({"user_id": "nope"}, {}, {"user_id": admin.user["id"], "extra": 1}):
            response = await http.post(path, headers=admin.auth, json=body)
            assert response.status_code == 422, body
            assert error_code(response) == "validation_error"
        assert (await http.get(path, headers=admin.auth)).json() == []

    async def test_members_cannot_change_assignments(self, http: httpx.AsyncClient) -> None:
        admin = await sign_up(http)
        member = await _member(http, admin)
        colleague = await _member(http, admin)
        created = await _client(http, member)
        path = f"/clients/{created['id']}/assignments"
        add = await http.post(path, headers=member.auth, json={"user_id": colleague.user["id"]})
        assert add.status_code == 403
        assert error_code(add) == "forbidden"
        remove = await http.delete(f"{path}/{member.user['id']}", headers=member.auth)
        assert remove.status_code == 403
        assert [a["user_id"] for a in (await http.get(path, headers=admin.auth)).json()] == [
            member.user["id"]
        ]


def _client_routes(client_id: str, user_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"/clients/{client_id}"
    return [
        ("GET", base, None),
        ("PATCH", base, {"display_name": "Hijacked"}),
        ("GET", f"{base}/assignments", None),
        ("POST", f"{base}/assignments", {"user_id": user_id}),
        ("DELETE", f"{base}/assignments/{user_id}", None),
        ("GET", f"{base}/recordings", None),
        ("GET", f"{base}/progress", None),
        ("GET", f"{base}/progress?format=png", None),
        ("GET", f"{base}/progress?metric=words_per_minute", None),
    ]


class TestIsolation:
    async def test_another_clinic_gets_404_on_every_client_route(
        self, http: httpx.AsyncClient
    ) -> None:
        owner = await sign_up(http, tenant_name="Clinic A")
        member = await _member(http, owner)
        theirs = await _client(http, owner, notes="private")
        await _assign(http, owner, theirs["id"], member.user["id"])
        intruder = await sign_up(http, tenant_name="Clinic B")
        for method, path, body in _client_routes(theirs["id"], member.user["id"]):
            response = await http.request(method, path, headers=intruder.auth, json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert error_code(response) == "not_found"
        after = (await http.get(f"/clients/{theirs['id']}", headers=owner.auth)).json()
        assert after == theirs
        assignments = await http.get(f"/clients/{theirs['id']}/assignments", headers=owner.auth)
        assert [a["user_id"] for a in assignments.json()] == [member.user["id"]]

    async def test_an_unassigned_member_gets_404_on_every_client_route(
        self, http: httpx.AsyncClient
    ) -> None:
        admin = await sign_up(http)
        assigned = await _member(http, admin)
        outsider = await _member(http, admin)
        created = await _client(http, admin)
        await _assign(http, admin, created["id"], assigned.user["id"])
        for method, path, body in _client_routes(created["id"], assigned.user["id"]):
            response = await http.request(method, path, headers=outsider.auth, json=body)
            assert response.status_code == 404, (method, path, response.text)
        # The outsider tried to assign themself too.
        for method, path, body in _client_routes(created["id"], outsider.user["id"]):
            response = await http.request(method, path, headers=outsider.auth, json=body)
            assert response.status_code == 404, (method, path, response.text)
        after = (await http.get(f"/clients/{created['id']}", headers=admin.auth)).json()
        assert after == created
        listed = await http.get(f"/clients/{created['id']}/assignments", headers=admin.auth)
        assert [a["user_id"] for a in listed.json()] == [assigned.user["id"]]

    async def test_unknown_and_malformed_ids(self, http: httpx.AsyncClient) -> None:
        admin = await sign_up(http)
        missing = await http.get(f"/clients/{uuid.uuid4()}", headers=admin.auth)
        assert missing.status_code == 404
        malformed = await http.get("/clients/not-a-uuid", headers=admin.auth)
        assert malformed.status_code == 422
        assert error_code(malformed) == "validation_error"


class TestSessions:
    async def test_an_upload_names_its_client_time_and_task(self, http: httpx.AsyncClient) -> None:
        admin = await sign_up(http)
        created = await _client(http, admin)
        response = await upload(
            http,
            admin.auth,
            FIXTURES / "jfk.opus",
            client_id=created["id"],
            recorded_at="2026-03-01T10:30:00+02:00",
            task="picture_description",
        )
        assert response.status_code == 202, response.text
        recording_id = response.json()["recording_id"]
        body = (await http.get(f"/audio_recordings/{recording_id}", headers=admin.auth)).json()
        assert body["client_id"] == created["id"]
        assert datetime.fromisoformat(body["recorded_at"]) == datetime(
            2026, 3, 1, 8, 30, tzinfo=UTC
        )
        assert body["task"] == "picture_description"
        sessions = (
            await http.get(f"/clients/{created['id']}/recordings", headers=admin.auth)
        ).json()
        assert [item["id"] for item in sessions["items"]] == [recording_id]

    async def test_recorded_at_defaults_to_the_upload_time(self, http: httpx.AsyncClient) -> None:
        admin = await sign_up(http)
        before = datetime.now(UTC)
        response = await upload(http, admin.auth, FIXTURES / "jfk.mp3")
        assert response.status_code == 202
        body = (
            await http.get(
                f"/audio_recordings/{response.json()['recording_id']}", headers=admin.auth
            )
        ).json()
        assert (body["client_id"], body["task"]) == (None, None)
        recorded_at = datetime.fromisoformat(body["recorded_at"])
        assert before - timedelta(seconds=1) <= recorded_at <= datetime.now(UTC)

    @pytest.mark.parametrize(
        ("fields", "code"),
        [
            ({"task": "singing"}, "invalid_task"),
            ({"recorded_at": "2026-03-01T10:30:00"}, "invalid_recorded_at"),
            ({"recorded_at": "last tuesday"}, "invalid_recorded_at"),
            ({"recorded_at": "2999-01-01T00:00:00Z"}, "invalid_recorded_at"),
            ({"client_id": "12345"}, "invalid_client_id"),
        ],
    )
    async def test_bad_session_fields_answer_422_and_store_nothing(
        self, http: httpx.AsyncClient, fields: dict[str, str], code: str
    ) -> None:
        admin = await sign_up(http)
        created = await _client(http, admin)
        response = await upload(
            http, admin.auth, FIXTURES / "jfk.ogg", **{"client_id": created["id"], **fields}
        )
        assert response.status_code == 422, response.text
        assert error_code(response) == code
        assert await _recordings(http, admin) == []

    async def test_a_client_the_uploader_cannot_see_answers_404(
        self, http: httpx.AsyncClient
    ) -> None:
        admin = await sign_up(http)
        member = await _member(http, admin)
        unassigned = await _client(http, admin)
        elsewhere = await _client(http, await sign_up(http))
        for account, client_id in (
            (member, unassigned["id"]),
            (admin, elsewhere["id"]),
            (admin, str(uuid.uuid4())),
        ):
            response = await upload(http, account.auth, FIXTURES / "jfk.webm", client_id=client_id)
            assert response.status_code == 404, response.text
            assert error_code(response) == "client_not_found"
        assert await _recordings(http, admin) == []

    async def test_an_assigned_member_uploads_a_session(self, http: httpx.AsyncClient) -> None:
        admin = await sign_up(http)
        member = await _member(http, admin)
        created = await _client(http, member)
        response = await upload(
            http, member.auth, FIXTURES / "jfk.m4a", client_id=created["id"], task="reading"
        )
        assert response.status_code == 202, response.text
        assert await _recordings(http, admin) == [response.json()["recording_id"]]

    async def test_client_recordings_are_ordered_by_recorded_at(
        self, http: httpx.AsyncClient, app_conninfo: str
    ) -> None:
        admin = await sign_up(http)
        created = await _client(http, admin)
        other = await _client(http, admin, display_name="Other")
        times = [datetime(2026, month, 1, tzinfo=UTC) for month in (3, 1, 4, 2)]
        ids = [
            _seed_recording(app_conninfo, admin, client_id=created["id"], recorded_at=t)
            for t in times
        ]
        _seed_recording(app_conninfo, admin, client_id=other["id"], recorded_at=times[0])
        expected = [ids[i] for i in (2, 0, 3, 1)]  # latest session first
        seen: list[str] = []
        cursor = None
        for _ in range(4):
            query = f"/clients/{created['id']}/recordings?limit=3"
            page = (
                await http.get(query + (f"&cursor={cursor}" if cursor else ""), headers=admin.auth)
            ).json()
            seen += [item["id"] for item in page["items"]]
            assert all(item["client_id"] == created["id"] for item in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected
        bad = await http.get(
            f"/clients/{created['id']}/recordings?cursor=%25%25", headers=admin.auth
        )
        assert bad.status_code == 400


def _seed_recording(
    app_conninfo: str,
    owner: Account,
    *,
    client_id: str | None,
    recorded_at: datetime,
    status: str = "pending",
) -> str:
    """A recording row written as the app writes it (app role, tenant set)."""
    recording_id = uuid.uuid4()
    tenant_id = owner.user["tenant_id"]
    with psycopg.connect(app_conninfo) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        conn.execute(
            "INSERT INTO audio_recordings (id, tenant_id, user_id, storage_key, sha256, "
            "size_bytes, language, report_type, report_language, status, chunks_done, "
            "chunks_total, client_id, recorded_at, task) VALUES (%s, %s, %s, %s, %s, 1, 'en', "
            "'fluency_analysis', 'en', %s, 0, 0, %s, %s, 'conversation')",
            (
                recording_id,
                tenant_id,
                owner.user["id"],
                f"{tenant_id}/{recording_id}",
                uuid.uuid4().hex,
                status,
                client_id,
                recorded_at,
            ),
        )
    return str(recording_id)


class TestRecordingVisibility:
    async def test_an_assigned_member_sees_the_clients_recordings(
        self, http: httpx.AsyncClient
    ) -> None:
        admin = await sign_up(http)
        member = await _member(http, admin)
        created = await _client(http, admin)
        theirs = await upload(http, admin.auth, FIXTURES / "jfk.opus", client_id=created["id"])
        unrelated = await upload(http, admin.auth, FIXTURES / "jfk.mp3")
        own = await upload(http, member.auth, FIXTURES / "jfk.ogg")
        session_id = theirs.json()["recording_id"]
        own_id = own.json()["recording_id"]
        path = f"/audio_recordings/{session_id}"

        assert (await http.get(path, headers=member.auth)).status_code == 404
        assert await _recordings(http, member) == [own_id]

        await _assign(http, admin, created["id"], member.user["id"])
        assert (await http.get(path, headers=member.auth)).status_code == 200
        assert set(await _recordings(http, member)) == {own_id, session_id}
        assert unrelated.json()["recording_id"] not in await _recordings(http, member)
        sessions = await http.get(f"/clients/{created['id']}/recordings", headers=member.auth)
        assert [item["id"] for item in sessions.json()["items"]] == [session_id]
        # Seeing a colleague's session is not owning it: only its uploader or an admin deletes.
        refused = await http.delete(path, headers=member.auth)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "forbidden"
        assert (await http.get(path, headers=member.auth)).status_code == 200

        await http.delete(
            f"/clients/{created['id']}/assignments/{member.user['id']}", headers=admin.auth
        )
        assert (await http.get(path, headers=member.auth)).status_code == 404
        assert await _recordings(http, member) == [own_id]


class TestAudit:
    async def test_each_client_action_is_recorded_once(
        self, http: httpx.AsyncClient, app_conninfo: str
    ) -> None:
        admin = await sign_up(http)
        member = await _member(http, admin)
        created = await _client(http, admin, display_name="Secret Name", notes="Secret")
        client_id = created["id"]
        await http.get(f"/clients/{client_id}", headers=admin.auth)
        await http.patch(f"/clients/{client_id}", headers=admin.auth, json={"notes": "Also secret"})
        await _assign(http, admin, client_id, member.user["id"])
        await _assign_again(http, admin, client_id, member.user["id"])
        await http.delete(
            f"/clients/{client_id}/assignments/{member.user['id']}", headers=admin.auth
        )
        # Refused requests leave no entry.
        await http.get(f"/clients/{client_id}", headers=member.auth)
        await http.patch(f"/clients/{client_id}", headers=admin.auth, json={"notes": 1})

        rows = _audit_rows(app_conninfo, admin.user["tenant_id"], client_id)
        assert [(action, actor) for action, actor, _ in rows] == [
            ("client_created", admin.user["id"]),
            ("client_read", admin.user["id"]),
            ("client_updated", admin.user["id"]),
            ("client_assigned", admin.user["id"]),
            ("client_unassigned", admin.user["id"]),
        ]
        assert rows[2][2] == {"fields": ["notes"]}
        assert rows[3][2] == {"user_id": member.user["id"]}
        assert "Secret" not in repr(rows)

    async def test_a_member_creating_a_client_records_the_assignment(
        self, http: httpx.AsyncClient, app_conninfo: str
    ) -> None:
        admin = await sign_up(http)
        member = await _member(http, admin)
        created = await _client(http, member)
        rows = _audit_rows(app_conninfo, admin.user["tenant_id"], created["id"])
        assert [(action, actor, details) for action, actor, details in rows] == [
            ("client_created", member.user["id"], {}),
            ("client_assigned", member.user["id"], {"user_id": member.user["id"]}),
        ]


async def _assign_again(
    http: httpx.AsyncClient, admin: Account, client_id: str, user_id: str
) -> None:
    response = await http.post(
        f"/clients/{client_id}/assignments", headers=admin.auth, json={"user_id": user_id}
    )
    assert response.status_code == 200, response.text
