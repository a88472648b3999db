"""Tenant isolation in the database itself: row-level security, the cross-tenant lookups,
and tenants interleaved on a small pool."""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from db.models import TENANT_TABLES
from fluently.settings import Settings
from tests.support import (
    PASSWORD,
    Account,
    add_user,
    client_of,
    fresh_email,
    log_in,
    running,
    sign_up,
)


def _insert_for(table: str, tenant: uuid.UUID) -> sql.Composed:
    """An insert of a minimal row into ``table`` claiming ``tenant``."""
    ref = sql.Literal(str(uuid.uuid4()))
    rows: dict[str, dict[str, Any]] = {
        "users": {"email": f"{uuid.uuid4()}@x.example", "password_hash": "x", "role": "admin"},
        "refresh_tokens": {
            "user_id": ref,
            "family_id": ref,
            "token_hash": uuid.uuid4().hex,
            "expires_at": sql.SQL("now()"),
        },
        "audio_recordings": {
            "user_id": ref,
            "storage_key": "k",
            "sha256": uuid.uuid4().hex,
            "size_bytes": 1,
            "language": "en",
            "report_type": "fluency_analysis",
            "report_language": "en",
            "status": "pending",
            "chunks_done": 0,
            "chunks_total": 0,
        },
        "transcriptions": {
            "recording_id": ref,
            "text": "t",
            "language": "en",
            "backend": "local",
            "model": "m",
            "segments": "[]",
            "chunks": "[]",
        },
        "reports": {
            "recording_id": ref,
            "type": "fluency_analysis",
            "language": "en",
            "generator": "template",
            "metrics": "{}",
            "content_markdown": "#",
        },
        "jobs": {
            "kind": "noop",
            "queue": "low",
            "priority": 2,
            "status": "done",
            "attempts": 0,
            "max_attempts": 1,
        },
        "clients": {"display_name": "x"},
        "client_assignments": {"client_id": ref, "user_id": ref},
        "annotations": {
            "recording_id": ref,
            "version": 1,
            "segments": "[]",
            "events": "[]",
            "metrics": "{}",
        },
        "audit_events": {"action": "login"},
    }
    values = {"tenant_id": str(tenant), **rows[table]}
    return sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(c) for c in values),
        sql.SQL(", ").join(
            v if isinstance(v, sql.Composable) else sql.Literal(v) for v in values.values()
        ),
    )


class TestDatabaseIsolation:
    async def test_no_tenant_table_accepts_a_row_for_another_tenant(
        self, visitor: httpx.AsyncClient, app_conninfo: str
    ) -> None:
        a, b = await sign_up(visitor), await sign_up(visitor)
        with psycopg.connect(app_conninfo) as conn:
            conn.execute("SELECT set_config('app.tenant_id', %s, false)", (a.user["tenant_id"],))
            for table in TENANT_TABLES:
                with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                    conn.execute(_insert_for(table, uuid.UUID(b.user["tenant_id"])))
            assert conn.execute(
                "SELECT count(*) FROM users WHERE tenant_id = %s", (b.user["tenant_id"],)
            ).fetchone() == (0,)
            assert conn.execute(
                "SELECT count(*) FROM refresh_tokens WHERE tenant_id = %s", (b.user["tenant_id"],)
            ).fetchone() == (0,)

    async def test_the_cross_tenant_lookups_match_exactly_and_reveal_little(
        self, visitor: httpx.AsyncClient, app_conninfo: str
    ) -> None:
        account = await sign_up(visitor)
        with psycopg.connect(app_conninfo) as conn:
            for pattern in ("%", "%@clinic.example", "", account.email[:6] + "%"):
                found = conn.execute("SELECT * FROM fluently_find_login(%s)", (pattern,))
                assert found.fetchall() == [], pattern
            found = conn.execute("SELECT * FROM fluently_find_login(%s)", (account.email.upper(),))
            assert [c.name for c in found.description or []] == [
                "user_id",
                "tenant_id",
                "password_hash",
                "role",
            ]
            assert len(found.fetchall()) == 1
            for pattern in ("%", "", hashlib.sha256(b"").hexdigest(), account.refresh_token):
                found = conn.execute("SELECT * FROM fluently_find_refresh_token(%s)", (pattern,))
                assert found.fetchall() == [], "only a token's sha256 finds it"
            token_hash = hashlib.sha256(account.refresh_token.encode()).hexdigest()
            found = conn.execute("SELECT * FROM fluently_find_refresh_token(%s)", (token_hash,))
            assert [c.name for c in found.description or []] == [
                "id",
                "tenant_id",
                "user_id",
                "family_id",
            ]
            assert len(found.fetchall()) == 1

    def test_the_lookups_are_not_public_and_pin_their_search_path(
        self, app_db: psycopg.Connection
    ) -> None:
        for function in ("fluently_find_login(text)", "fluently_find_refresh_token(text)"):
            row = app_db.execute(
                "SELECT has_function_privilege('public', %s, 'EXECUTE'), p.prosecdef, "
                "p.proconfig FROM pg_proc p WHERE p.oid = %s::regprocedure",
                (function, function),
            ).fetchone()
            assert row is not None
            public_may_execute, security_definer, config = row
            assert not public_may_execute, function
            assert security_definer, function
            assert any(c.startswith("search_path=") for c in config), function

    async def test_the_rate_limit_log_holds_no_email(
        self, visitor: httpx.AsyncClient, app_db: psycopg.Connection
    ) -> None:
        email = fresh_email()
        await visitor.post("/auth/login", json={"email": email, "password": PASSWORD})
        local_part = email.split("@")[0]
        found = app_db.execute(
            "SELECT count(*) FROM rate_limit_hits WHERE key LIKE %s", (f"%{local_part}%",)
        ).fetchone()
        assert found == (0,)


class TestConcurrentIsolation:
    async def test_interleaved_requests_through_a_small_pool_see_only_their_own_tenant(
        self, settings: Settings
    ) -> None:
        small_pool = settings.model_copy(update={"db_pool_size": 2})
        async with running(small_pool) as instance, client_of(instance) as crowded:
            callers: list[tuple[Account, set[str]]] = []
            for i in range(5):
                admin = await sign_up(crowded, tenant_name=f"Clinic {i}")
                members = [await log_in(crowded, await add_user(crowded, admin)) for _ in range(2)]
                everyone = {admin.user["id"], *(m.user["id"] for m in members)}
                callers += [(account, everyone) for account in (admin, *members)]

            async def check(account: Account, tenant_users: set[str], listing: bool) -> None:
                if listing and account.user["role"] == "admin":
                    response = await crowded.get("/users", headers=account.auth)
                    assert response.status_code == 200
                    assert {u["id"] for u in response.json()} == tenant_users
                    assert {u["tenant_id"] for u in response.json()} == {account.user["tenant_id"]}
                else:
                    response = await crowded.get("/auth/me", headers=account.auth)
                    assert response.status_code == 200
                    body = response.json()
                    assert (body["id"], body["tenant_id"]) == (
                        account.user["id"],
                        account.user["tenant_id"],
                    )

            picker = random.Random(500)
            for _ in range(10):
                batch = [
                    check(*picker.choice(callers), listing=picker.random() < 0.5) for _ in range(50)
                ]
                await asyncio.gather(*batch)
