"""The foundation: schema by migrations, Row-Level Security that fails closed, health, logs."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from db.models import TENANT_TABLES
from fluently.logging import JsonFormatter, configure_logging, request_id_var
from fluently.settings import Settings
from serve_app.app import create_app
from serve_app.metrics import REGISTRY
from serve_app.middleware import RequestContextMiddleware
from serve_app.services.recordings import UPLOAD_FIELDS

ALL_TENANT_TABLES = ("tenants", *TENANT_TABLES)
APPEND_ONLY_TABLES = ("audit_events",)
"""The app role may only INSERT and SELECT these: any UPDATE or DELETE is refused outright."""


def _set_tenant(conn: psycopg.Connection, tenant_id: uuid.UUID | None) -> None:
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id or ""),))


def _seed_tenant(admin_conninfo: str) -> dict[str, uuid.UUID]:
    """One row in every tenant table, written as the owner with the tenant set (as the app does)."""
    ids = {name: uuid.uuid4() for name in ("tenant", "user", "rec", "client")}
    with psycopg.connect(admin_conninfo) as conn:
        _set_tenant(conn, ids["tenant"])
        conn.execute("INSERT INTO tenants (id, name) VALUES (%s, 'clinic')", (ids["tenant"],))
        conn.execute(
            "INSERT INTO users (id, tenant_id, email, password_hash, role) "
            "VALUES (%s, %s, %s, 'x', 'admin')",
            (ids["user"], ids["tenant"], f"{ids['user']}@example.org"),
        )
        conn.execute(
            "INSERT INTO refresh_tokens (tenant_id, user_id, family_id, token_hash, expires_at) "
            "VALUES (%s, %s, %s, %s, now() + interval '1 day')",
            (ids["tenant"], ids["user"], uuid.uuid4(), uuid.uuid4().hex),
        )
        conn.execute(
            "INSERT INTO clients (id, tenant_id, display_name, created_by) "
            "VALUES (%s, %s, 'client', %s)",
            (ids["client"], ids["tenant"], ids["user"]),
        )
        conn.execute(
            "INSERT INTO client_assignments (tenant_id, client_id, user_id) VALUES (%s, %s, %s)",
            (ids["tenant"], ids["client"], ids["user"]),
        )
        conn.execute(
            "INSERT INTO audio_recordings (id, tenant_id, user_id, storage_key, sha256, "
            "size_bytes, language, report_type, report_language, status, chunks_done, "
            "chunks_total, client_id, recorded_at, task) VALUES (%s, %s, %s, 'k', %s, 1, 'en', "
            "'fluency_analysis', 'en', 'pending', 0, 0, %s, now(), 'reading')",
            (ids["rec"], ids["tenant"], ids["user"], uuid.uuid4().hex, ids["client"]),
        )
        conn.execute(
            "INSERT INTO annotations (tenant_id, recording_id, version, segments, events, "
            "metrics) VALUES (%s, %s, 1, '[]', '[]', '{}')",
            (ids["tenant"], ids["rec"]),
        )
        conn.execute(
            "INSERT INTO audit_events (tenant_id, actor_id, action, target_type, target_id) "
            "VALUES (%s, %s, 'client_created', 'client', %s)",
            (ids["tenant"], ids["user"], str(ids["client"])),
        )
        conn.execute(
            "INSERT INTO transcriptions (tenant_id, recording_id, text, language, backend, "
            "model, segments, chunks) VALUES (%s, %s, 't', 'en', 'local', 'm', '[]', '[]')",
            (ids["tenant"], ids["rec"]),
        )
        conn.execute(
            "INSERT INTO reports (tenant_id, recording_id, type, language, generator, metrics, "
            "content_markdown) VALUES (%s, %s, 'fluency_analysis', 'en', 'template', '{}', '#')",
            (ids["tenant"], ids["rec"]),
        )
        conn.execute(
            "INSERT INTO jobs (tenant_id, recording_id, kind, queue, priority, status, attempts, "
            "max_attempts) VALUES (%s, %s, 'noop', 'low', 2, 'done', 0, 1)",
            (ids["tenant"], ids["rec"]),
        )
    return ids


def _count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    assert row is not None
    return int(row[0])


class TestSchemaSecurity:
    def test_every_tenant_table_has_forced_rls_with_using_and_check(
        self, app_db: psycopg.Connection
    ) -> None:
        tables = {
            r[0]
            for r in app_db.execute(
                "SELECT table_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND column_name = 'tenant_id'"
            )
        }
        assert tables == set(TENANT_TABLES)
        for table in ALL_TENANT_TABLES:
            row = app_db.execute(
                "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = %s",
                (table,),
            ).fetchone()
            assert row == (True, True), table
            policies = app_db.execute(
                "SELECT qual, with_check FROM pg_policies "
                "WHERE tablename = %s AND policyname = 'tenant_isolation'",
                (table,),
            ).fetchall()
            assert len(policies) == 1, table
            using, check = policies[0]
            assert "app.tenant_id" in using and "app.tenant_id" in check, table

    def test_app_role_is_unprivileged_and_owns_nothing(self, app_db: psycopg.Connection) -> None:
        row = app_db.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
            "WHERE rolname = current_user"
        ).fetchone()
        assert row == (False, False, False, False)
        owned = app_db.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
            "WHERE r.rolname = current_user"
        ).fetchone()
        assert owned == (0,)
        functions = app_db.execute(
            "SELECT count(*) FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner "
            "WHERE r.rolname = current_user"
        ).fetchone()
        assert functions == (0,)


class TestRowLevelSecurity:
    def test_no_tenant_set_shows_nothing_and_refuses_inserts(
        self, app_db: psycopg.Connection, admin_conninfo: str
    ) -> None:
        _seed_tenant(admin_conninfo)
        for table in ALL_TENANT_TABLES:
            assert _count(app_db, table) == 0, table
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app_db.execute("INSERT INTO tenants (id, name) VALUES (%s, 'x')", (uuid.uuid4(),))

    def test_tenant_a_cannot_see_or_write_tenant_b(
        self, app_conninfo: str, admin_conninfo: str
    ) -> None:
        a = _seed_tenant(admin_conninfo)
        b = _seed_tenant(admin_conninfo)
        with psycopg.connect(app_conninfo) as conn:
            _set_tenant(conn, a["tenant"])
            for table in ALL_TENANT_TABLES:
                assert _count(conn, table) >= 1, table
                column = "id" if table == "tenants" else "tenant_id"
                query = sql.SQL("SELECT count(*) FROM {} WHERE {} = %s").format(
                    sql.Identifier(table), sql.Identifier(column)
                )
                assert conn.execute(query, (b["tenant"],)).fetchone() == (0,), table
                update = sql.SQL("UPDATE {} SET {} = {} WHERE {} = %s").format(
                    sql.Identifier(table),
                    sql.Identifier(column),
                    sql.Identifier(column),
                    sql.Identifier(column),
                )
                delete = sql.SQL("DELETE FROM {} WHERE {} = %s").format(
                    sql.Identifier(table), sql.Identifier(column)
                )
                for statement in (update, delete):
                    if table in APPEND_ONLY_TABLES:
                        with (
                            pytest.raises(psycopg.errors.InsufficientPrivilege),
                            conn.transaction(),
                        ):
                            conn.execute(statement, (b["tenant"],))
                    else:
                        assert conn.execute(statement, (b["tenant"],)).rowcount == 0, table
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    "INSERT INTO users (tenant_id, email, password_hash, role) "
                    "VALUES (%s, %s, 'x', 'admin')",
                    (b["tenant"], f"{uuid.uuid4()}@example.org"),
                )
            conn.rollback()
            _set_tenant(conn, a["tenant"])
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    "UPDATE users SET tenant_id = %s WHERE tenant_id = %s",
                    (b["tenant"], a["tenant"]),
                )

    def test_the_tenant_setting_does_not_outlive_its_transaction(
        self, app_conninfo: str, admin_conninfo: str
    ) -> None:
        a = _seed_tenant(admin_conninfo)
        with psycopg.connect(app_conninfo) as conn:
            _set_tenant(conn, a["tenant"])
            assert _count(conn, "users") >= 1
            conn.commit()
            assert _count(conn, "users") == 0


class TestHealth:
    async def test_healthz(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    async def test_readyz_checks_database_and_migrations(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["checks"] == {
            "database": "ok",
            "migrations": "ok",
            "deployments": "not_applicable",
        }

    async def test_openapi_docs_are_served(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/docs")).status_code == 200
        paths = (await client.get("/openapi.json")).json()["paths"]
        assert "/healthz" in paths

        def multipart(path: str) -> dict[str, Any]:
            body = paths[path]["post"]["requestBody"]["content"]["multipart/form-data"]
            schema: dict[str, Any] = body["schema"]
            return schema

        upload = multipart("/audio_recordings")
        assert upload["required"] == ["file"]
        # What the service takes is what the schema documents, and nothing else.
        assert {"file", *UPLOAD_FIELDS} == set(upload["properties"])
        assert upload["additionalProperties"] is False
        assert "picture_description" in upload["properties"]["task"]["enum"]
        assert "comprehensive" in upload["properties"]["report_type"]["enum"]
        openai = multipart("/v1/audio/transcriptions")
        assert {"file", "model", "response_format", "timestamp_granularities[]"} <= set(
            openai["properties"]
        )

    async def test_unknown_route_uses_the_error_shape(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/no-such-route")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


class TestRequestLogs:
    async def test_every_log_line_is_json_with_the_echoed_request_id(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        formatter = JsonFormatter()
        with caplog.at_level(logging.INFO, logger="fluently"):
            logging.getLogger("fluently").addHandler(caplog.handler)
            try:
                response = await client.get("/readyz", headers={"X-Request-ID": "req-42"})
            finally:
                logging.getLogger("fluently").removeHandler(caplog.handler)
        assert response.headers["x-request-id"] == "req-42"
        lines = [json.loads(formatter.format(r)) for r in caplog.records]
        assert lines, "the request logged nothing"
        assert all(line["request_id"] == "req-42" for line in lines)

    def test_a_library_may_pass_its_own_request_id(self, caplog: pytest.LogCaptureFixture) -> None:
        """Ray Serve's access log passes ``extra={"request_id": ...}``; with our record
        factory installed that raised ``KeyError`` inside the replica request."""
        configure_logging()
        token = request_id_var.set("ours")
        try:
            serve = logging.getLogger("ray.serve")
            with caplog.at_level(logging.INFO, logger="ray.serve"):
                serve.info("CALL transcribe OK", extra={"request_id": "r1"})
                serve.info("no id of its own")
        finally:
            request_id_var.reset(token)
        theirs, ours = (json.loads(JsonFormatter().format(r)) for r in caplog.records)
        assert theirs["request_id"] == "r1"
        assert ours["request_id"] == "ours"

    async def test_a_request_id_is_generated_when_absent(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert len(response.headers["x-request-id"]) >= 16


class TestMetrics:
    async def test_prometheus_counts_requests_by_route_template(
        self, client: httpx.AsyncClient
    ) -> None:
        await client.get("/healthz")
        body = (await client.get("/metrics")).text
        assert 'fluently_http_requests_total{method="GET",route="/healthz",status="200"}' in body
        assert "fluently_http_request_seconds_bucket" in body

    async def test_behind_serve_the_answered_status_is_counted(self, settings: Settings) -> None:
        """Under Serve the app does not echo the request id (the proxy does); the status it
        answered must still be what the counter and the log line say, not a 500."""
        app = create_app(settings, behind_serve=True)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                before = _counted("/healthz", "200")
                assert (await c.get("/healthz")).status_code == 200
                assert (await c.get("/audio_recordings")).status_code == 401
                assert _counted("/healthz", "200") == before + 1
                assert _counted("/audio_recordings", "401") >= 1
                assert _counted("/healthz", "500") == 0

    async def test_a_request_its_client_gave_up_on_is_not_a_server_error(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Serve cancels a request whose client disconnected: counted and logged as 499, and
        the cancellation still reaches the caller."""
        started = asyncio.Event()

        async def slow(request: Request) -> Response:
            started.set()
            await asyncio.Event().wait()
            return Response()

        app = RequestContextMiddleware(Starlette(routes=[Route("/slow", slow)]), echo=False)
        transport = httpx.ASGITransport(app=app)
        with caplog.at_level(logging.INFO, logger="fluently.http"):
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                before = _counted("/slow", "499")
                request = asyncio.create_task(c.get("/slow"))
                await started.wait()
                request.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await request
        logged = [r for r in caplog.records if getattr(r, "path", None) == "/slow"]
        assert [getattr(r, "status", None) for r in logged] == [499]
        assert _counted("/slow", "499") == before + 1
        assert _counted("/slow", "500") == 0


def _counted(route: str, status: str) -> float:
    """The request counter for GET ``route`` answered ``status`` (0 if never)."""
    value = REGISTRY.get_sample_value(
        "fluently_http_requests_total", {"method": "GET", "route": route, "status": status}
    )
    return value or 0.0
