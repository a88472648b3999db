"""The API fuzzed from its own OpenAPI schema (tests/test_fuzz.py, ``make fuzz``): the schema
and its settings, who the fuzzer is signed in as, and what a refused request must leave behind.

The app runs in-process over ASGI: schemathesis starts its lifespan (engine, pool) on an event
loop of its own and sends every request through it, so fuzzing needs no Serve and no port.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import schemathesis
from fastapi import FastAPI
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    unsupported_method,
)

from deployments.local_transcriber import LocalTranscriberDeployment
from fluently.settings import AuthSettings, Environment, Settings
from serve_app.app import create_app
from tests.support import FIXTURES, PASSWORD, fresh_email

EXAMPLES_ENV = "FLUENTLY_FUZZ_EXAMPLES"
BOUNDED_EXAMPLES = 30
"""Generated examples per operation in ``make test``; ``make fuzz`` raises it through
``EXAMPLES_ENV``."""
SEED = 13
"""Fixed, so CI sends what a run here sent."""
SEED_AUDIO = FIXTURES / "jfk.mp3"
"""The recording the id routes find some of the time."""
ATTEMPT_LOGS = frozenset({"rate_limit_hits", "audit_events"})
"""Tables that record attempts, refused ones included, by design; no other table may grow from
a refused request."""
UPLOAD = "POST /audio_recordings"


def examples_per_operation() -> int:
    return int(os.environ.get(EXAMPLES_ENV, BOUNDED_EXAMPLES))


class AppSlot:
    """The ASGI app schemathesis sends requests to; the real app is put in once the session's
    database runs, after pytest has already collected one test per operation."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.app is not None, "FuzzTarget puts the app in before any request"
        await self.app(scope, receive, send)


REJECTED = [
    *schemathesis.Config().projects.default.checks.negative_data_rejection.expected_statuses,
    "413",
]
"""What refuses a request that breaks the schema (``negative_data_rejection``): schemathesis'
own list, and 413 ``body_too_large``, the answer to a body over its route's bound however else
it breaks the schema (the fuzzer's review with 20,001 segments, one over ``maxItems``, came to
more than the annotation's 16 MiB)."""


def load_schema(slot: AppSlot) -> schemathesis.BaseSchema:
    """The app's OpenAPI document, with every generation mode, a fixed seed and no example
    database (a rerun sends the same requests). The document does not depend on settings, so
    an app that never starts provides it at import time; requests go to ``slot``."""
    placeholder = Settings.model_validate(
        {"FLUENTLY_ENV": Environment.test, "JWT_SECRET": "openapi-only-" + "x" * 32}
    )
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            # They time generation, which a busy machine slows; they say nothing of the API.
            "suppress-health-check": ["all"],
            "max-stream-events": 1,
            "request-timeout": 30,
            "checks": {"negative_data_rejection": {"expected-statuses": REJECTED}},
            "generation": {
                "mode": "all",
                "max-examples": examples_per_operation(),
                "deterministic": True,
                "database": "none",
            },
        }
    )
    schema = schemathesis.openapi.from_dict(create_app(placeholder).openapi(), config=config)
    schema.app = slot
    return schema


# The app under test


class _InProcessMethod:
    def __init__(self, method: Callable[..., Any]) -> None:
        self._method = method

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        return asyncio.to_thread(self._method, *args, **kwargs)


class InProcessHandle:
    """The real ``LocalTranscriberDeployment`` with a Serve handle's shape (``h.method.remote()``),
    run in a worker thread: ``/v1`` then takes its real code path without Ray."""

    def __init__(self, deployment: LocalTranscriberDeployment) -> None:
        self._deployment = deployment

    def __getattr__(self, name: str) -> _InProcessMethod:
        return _InProcessMethod(getattr(self._deployment, name))


def fuzz_settings(settings: Settings, data_dir: Path) -> Settings:
    """The session's database; a data directory of its own, so every stored file is the
    fuzzer's (and a Serve platform another test started, which shares the database and claims
    the fuzzer's jobs, cannot read their audio and add rows behind its back); tokens that
    outlive a long run; rate limits and login slowdowns out of the way, since a 429 answers
    before the code under test runs."""
    unlimited = {
        name: 10**9
        for name in AuthSettings.model_fields
        if "_limit_" in name or name.endswith("_slowdown_after")
    }
    auth = settings.auth.model_copy(update={**unlimited, "access_token_ttl_s": 24 * 3600})
    return settings.model_copy(update={"data_dir": data_dir, "auth": auth})


# What the fuzzer's requests stored


@dataclass(frozen=True)
class Stored:
    rows: dict[str, int]
    """Rows per table of the tenants created since the fuzzer started (its own among them)."""
    recordings: frozenset[str]
    storage_keys: frozenset[str]
    files: frozenset[str]
    """Stored audio, relative to the storage root."""
    temporary: frozenset[str]
    """Upload files still in the temporary folder."""

    @property
    def orphans(self) -> frozenset[str]:
        """Stored audio no recording names."""
        return self.files - self.storage_keys


class Store:
    """Reads the database as a superuser (RLS does not apply) and the fuzz app's data folder."""

    def __init__(self, conninfo: str, data_dir: Path) -> None:
        self._conn = psycopg.connect(conninfo, autocommit=True)
        self._data_dir = data_dir
        self._old_tenants = [r[0] for r in self._conn.execute("SELECT id FROM tenants")]
        tables = self._conn.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY table_name"
        )
        counts = [
            f"SELECT '{t}', count(*) FROM {t} WHERE tenant_id <> ALL(%(old)s)"  # noqa: S608
            for (t,) in tables
            if t not in ATTEMPT_LOGS
        ]
        self._count_rows = " UNION ALL ".join(
            ["SELECT 'tenants', count(*) FROM tenants WHERE id <> ALL(%(old)s)", *counts]
        )

    def close(self) -> None:
        self._conn.close()

    def read(self) -> Stored:
        old = {"old": self._old_tenants}
        rows: dict[str, int] = dict(self._conn.execute(self._count_rows, old).fetchall())
        recordings = self._conn.execute(
            "SELECT id::text, storage_key FROM audio_recordings WHERE tenant_id <> ALL(%(old)s)",
            old,
        ).fetchall()
        return Stored(
            rows=rows,
            recordings=frozenset(r[0] for r in recordings),
            storage_keys=frozenset(r[1] for r in recordings),
            files=_files(self._data_dir / "audio"),
            temporary=_files(self._data_dir / "tmp"),
        )


def _files(root: Path) -> frozenset[str]:
    if not root.exists():
        return frozenset()
    return frozenset(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _changed(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {t: n - before.get(t, 0) for t, n in after.items() if n != before.get(t, 0)}


# Checks beyond schemathesis' own


def error_body(ctx: CheckContext, response: Response, case: Case) -> None:
    """Every refusal carries ``{"error": {"code", "message"}}`` (``../shared/DESIGN.md``)."""
    if response.status_code < 400:
        return
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, (
        f"not the error body: {response.text[:300]}"
    )
    assert isinstance(body["error"].get("code"), str), f"no error code: {response.text[:300]}"
    assert isinstance(body["error"].get("message"), str), f"no message: {response.text[:300]}"


CHECKS = (
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    unsupported_method,
    error_body,
)
"""Status codes are not checked against the schema: the app documents only its success and
FastAPI's 422, so every 401, 404 or 409 would fail. A refusal must still carry ``error_body``."""


def _titles(exc: BaseException) -> list[str]:
    if isinstance(exc, FailureGroup):
        return [f"{f.title}: {(f.message or '').strip().splitlines()[0]}" for f in exc.exceptions]
    return [f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"]


# The fuzzer's identities and tally


@dataclass
class Identities:
    """Filled in once the app runs; the schema's hooks read them while generating cases."""

    admin_token: str = ""
    member_token: str = ""
    recording_id: str = ""

    def install(self, schema: schemathesis.BaseSchema) -> None:
        """Sign every case in as the admin. Then, half of the time each: the member instead;
        the real recording's id (random ids only ever reach the 404 branch); a password long
        enough for the policy (the schema does not say 12), so the fuzzed emails and clinic
        names get past it to the code that stores them."""
        identities = self

        @schema.auth(refresh_interval=None)
        class Bearer:
            def get(self, case: Case, context: Any) -> str:
                return identities.admin_token

            def set(self, case: Case, data: str, context: Any) -> None:
                case.headers["Authorization"] = f"Bearer {data}"

        @schema.hook
        def flatmap_case(context: Any, case: Case) -> st.SearchStrategy[Case]:
            choices = st.tuples(st.booleans(), st.booleans(), st.booleans())
            return choices.map(lambda chosen: identities.vary(case, *chosen))

    def vary(
        self, case: Case, as_member: bool, real_recording: bool, policy_password: bool
    ) -> Case:
        if as_member and case.headers.get("Authorization") == f"Bearer {self.admin_token}":
            case.headers["Authorization"] = f"Bearer {self.member_token}"
        if real_recording and "recording_id" in (case.path_parameters or {}):
            case.path_parameters["recording_id"] = self.recording_id
        body = case.body
        password = body.get("password") if isinstance(body, dict) else None
        if policy_password and isinstance(body, dict) and isinstance(password, str):
            body["password"] = password + PASSWORD
        return case


@dataclass
class Tally:
    documented: frozenset[str]
    """The status codes the schema documents for the operation."""
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


class FuzzTarget:
    """The running app, a fresh tenant's admin and member, one real recording, and a tally."""

    def __init__(
        self,
        schema: schemathesis.BaseSchema,
        slot: AppSlot,
        identities: Identities,
        settings: Settings,
        superuser_conninfo: str,
    ) -> None:
        self.schema = schema
        self.identities = identities
        slot.app = create_app(settings, transcriber=InProcessHandle(LocalTranscriberDeployment()))
        self.store = Store(superuser_conninfo, settings.data_dir)
        self.tally: dict[str, Tally] = {}
        self.accepted_recordings: set[str] = set()
        self.started = time.monotonic()
        self._sign_in()
        self.ensure_recording()

    def _send(self, label: str, *, token: str | None = None, **case: Any) -> Response:
        """One request through the running app, the way the fuzzer sends its own."""
        method, path = label.split(" ", 1)
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return self.schema[path][method].Case(headers=headers, **case).call()

    def _sign_in(self) -> None:
        admin = {"tenant_name": "Fuzz clinic", "email": fresh_email(), "password": PASSWORD}
        signed_up = self._send("POST /auth/signup", body=admin)
        assert signed_up.status_code == 201, signed_up.text
        self.identities.admin_token = signed_up.json()["access_token"]
        member = {"email": fresh_email(), "password": PASSWORD, "role": "member"}
        added = self._send("POST /users", token=self.identities.admin_token, body=member)
        assert added.status_code == 201, added.text
        login = {"email": member["email"], "password": PASSWORD}
        logged_in = self._send("POST /auth/login", body=login)
        assert logged_in.status_code == 200, logged_in.text
        self.identities.member_token = logged_in.json()["access_token"]

    def ensure_recording(self) -> None:
        """Upload the real recording again after the fuzzer deleted it."""
        if self.identities.recording_id in self.store.read().recordings:
            return
        uploaded = self._send(
            UPLOAD,
            token=self.identities.admin_token,
            body={"file": SEED_AUDIO.read_bytes()},
            media_type="multipart/form-data",
        )
        assert uploaded.status_code in (200, 202), uploaded.text
        self.identities.recording_id = uploaded.json()["recording_id"]
        self.accepted_recordings.add(self.identities.recording_id)

    def exercise(self, case: Case) -> None:
        """Send ``case``; hold its response to the checks and the store to its invariants."""
        self.ensure_recording()
        before = self.store.read()
        tally = self.tally.setdefault(
            case.operation.label, Tally(documented=frozenset(case.operation.responses.status_codes))
        )
        tally.requests += 1
        try:
            response = case.call()
        except Exception as exc:
            # In-process, an unhandled error reaches the caller as well as the 500 it became.
            tally.statuses[500] += 1
            tally.failures.extend(_titles(exc))
            raise
        tally.statuses[response.status_code] += 1
        if case.operation.label == UPLOAD and response.status_code in (200, 202):
            self.accepted_recordings.add(response.json()["recording_id"])
        checks = [*CHECKS, self._stores_nothing_refused(before)]
        try:
            case.validate_response(response, checks=checks)
        except (Exception, FailureGroup) as exc:
            tally.failures.extend(_titles(exc))
            raise

    def _stores_nothing_refused(self, before: Stored) -> Callable[..., None]:
        target = self

        def refused_requests_store_nothing(
            ctx: CheckContext, response: Response, case: Case
        ) -> None:
            after = target.store.read()
            if response.status_code >= 300:
                changed = _changed(before.rows, after.rows)
                assert not changed, f"a refused request stored rows: {changed}"
                added = sorted(after.files - before.files)
                assert not added, f"a refused request stored audio: {added}"
            left = sorted(after.temporary - before.temporary)
            assert not left, f"upload files left behind: {left}"
            orphans = sorted(after.orphans - before.orphans)
            assert not orphans, f"stored audio without a recording: {orphans}"
            unexplained = sorted(after.recordings - before.recordings - target.accepted_recordings)
            assert not unexplained, f"recordings no upload was told of: {unexplained}"

        return refused_requests_store_nothing

    @property
    def failed(self) -> bool:
        return any(t.failures for t in self.tally.values())

    def summary(self) -> list[str]:
        """What ``make fuzz`` prints: operations, requests and statuses, time, failures."""
        elapsed = time.monotonic() - self.started
        requests = sum(t.requests for t in self.tally.values())
        failing = sum(1 for t in self.tally.values() if t.failures)
        lines = [
            f"fuzz: {len(self.tally)} operations, {requests} requests in {elapsed:.0f} s "
            f"(at most {examples_per_operation()} generated examples per operation, plus the "
            f"schema's boundary cases), {failing} operations failing; "
            "* marks a status the schema does not document"
        ]
        for label, t in sorted(self.tally.items()):
            statuses = " ".join(
                f"{s}{'' if str(s) in t.documented else '*'}:{n}"
                for s, n in sorted(t.statuses.items())
            )
            lines.append(f"  {label}: {t.requests} [{statuses}]")
            lines.extend(f"    FAILED {f}" for f in dict.fromkeys(t.failures))
        return lines

    def close(self) -> None:
        self.store.close()
