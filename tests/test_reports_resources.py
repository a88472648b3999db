"""Reports as resources: requested from the latest annotation, written by a ``generate_report``
job on the low queue without transcribing again, listed per recording, read as JSON or Markdown,
and visible exactly when their recording is."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from db.models import Job, Queue, ReportStatus
from db.repositories import reports
from db.repositories.audit import Action
from db.session import Sessions, TenantId, tenant_session
from deployments.job_loop import JobLoop
from deployments.report_generator import ReportGenerator
from deployments.report_jobs import install
from fluently.bootstrap import embedded_server, prepare_database
from fluently.launcher import free_port
from fluently.settings import Environment, Settings
from pipelines.metrics import FluencyMetrics
from pipelines.report import ReportLanguage, ReportType
from pipelines.report.number_format import percent
from pipelines.types import (
    AudioArray,
    ChunkTranscript,
    FluencyReport,
    Transcript,
    TranscriptionOptions,
)
from serve_app.app import create_app
from tests.processed import audit_rows, seed_pending, seed_processed, seeding_sessions
from tests.support import (
    FIXTURES,
    Account,
    add_user,
    client_of,
    error_code,
    log_in,
    sign_up,
    signup,
    upload,
    wait_processed,
)


@dataclass
class Clinic:
    """A clinic's admin, a member the recordings are not assigned to, another clinic's admin."""

    admin: Account
    member: Account
    outsider: Account


async def open_clinic(client: httpx.AsyncClient, app: FastAPI) -> Clinic:
    admin = await sign_up(client)
    email = await add_user(client, admin)
    async with client_of(app) as elsewhere:  # logins are limited per address
        member = await log_in(elsewhere, email)
    return Clinic(admin, member, await sign_up(client))


async def review_without_repetition(
    client: httpx.AsyncClient, account: Account, recording_id: uuid.UUID
) -> dict[str, Any]:
    """Version 2: the repeated "I" struck out (%SS 25 → 100/9)."""
    url = f"/audio_recordings/{recording_id}/annotation"
    first = await client.get(url, headers=account.auth)
    body = first.json()
    events = [e for e in body["events"] if e["type"] != "repetition"]
    response = await client.put(
        url,
        json={"segments": body["segments"], "events": events},
        headers={**account.auth, "If-Match": first.headers["etag"]},
    )
    assert response.status_code == 200, response.text
    saved: dict[str, Any] = response.json()
    return saved


# -- the routes, on the session's database -------------------------------------------------------


@pytest.fixture(scope="module")
async def clinic(client: httpx.AsyncClient, ingress: FastAPI) -> Clinic:
    return await open_clinic(client, ingress)


@pytest.fixture
async def recording(sessions: Sessions, clinic: Clinic) -> uuid.UUID:
    return await seed_processed(sessions, clinic.admin)


async def report_jobs(sessions: Sessions, account: Account, recording_id: uuid.UUID) -> list[Job]:
    tenant_id = TenantId(uuid.UUID(account.user["tenant_id"]))
    async with tenant_session(sessions, tenant_id) as session:
        rows = await session.scalars(
            select(Job).where(Job.recording_id == recording_id, Job.kind == reports.GENERATE_REPORT)
        )
        return list(rows)


class TestRequestReport:
    async def test_without_a_token_is_401(
        self, client: httpx.AsyncClient, recording: uuid.UUID
    ) -> None:
        response = await client.post(f"/audio_recordings/{recording}/reports", json={})
        assert response.status_code == 401

    @pytest.mark.parametrize("who", ["outsider", "member"])
    async def test_another_clinic_or_an_unassigned_member_gets_404_and_nothing_is_queued(
        self,
        client: httpx.AsyncClient,
        sessions: Sessions,
        clinic: Clinic,
        recording: uuid.UUID,
        who: str,
    ) -> None:
        account: Account = getattr(clinic, who)
        response = await client.post(
            f"/audio_recordings/{recording}/reports", json={}, headers=account.auth
        )
        assert response.status_code == 404
        assert await report_jobs(sessions, clinic.admin, recording) == []

    async def test_a_report_of_the_latest_version_is_queued_on_the_low_queue(
        self, client: httpx.AsyncClient, sessions: Sessions, clinic: Clinic, recording: uuid.UUID
    ) -> None:
        await review_without_repetition(client, clinic.admin, recording)
        response = await client.post(
            f"/audio_recordings/{recording}/reports",
            json={"type": "comprehensive", "language": "de"},
            headers=clinic.admin.auth,
        )
        assert response.status_code == 202, response.text
        body = response.json()
        assert response.headers["location"] == f"/reports/{body['id']}"
        assert (body["status"], body["annotation_version"], body["automatic"]) == (
            "pending",
            2,
            False,
        )
        assert (body["type"], body["language"]) == ("comprehensive", "de")
        assert body["requested_by"] == clinic.admin.user["id"]
        [entry] = await audit_rows(
            sessions, clinic.admin, Action.report_requested, uuid.UUID(body["id"])
        )
        assert entry.actor_id == uuid.UUID(clinic.admin.user["id"])
        assert entry.details == {
            "recording_id": str(recording),
            "type": "comprehensive",
            "language": "de",
        }
        (job,) = await report_jobs(sessions, clinic.admin, recording)
        # A trace context may ride along (``traceparent``) when tracing records spans.
        payload = {k: v for k, v in job.payload.items() if k != "traceparent"}
        assert (job.queue, job.priority, payload) == (
            Queue.low.value,
            Queue.low.priority,
            {"report_id": body["id"]},
        )

    @pytest.mark.parametrize("body", [{"json": {}}, {}], ids=["empty_object", "no_body"])
    async def test_type_and_language_default_to_the_uploads(
        self, client: httpx.AsyncClient, clinic: Clinic, recording: uuid.UUID, body: dict[str, Any]
    ) -> None:
        response = await client.post(
            f"/audio_recordings/{recording}/reports", headers=clinic.admin.auth, **body
        )
        assert response.status_code == 202, response.text
        assert (response.json()["type"], response.json()["language"]) == (
            "fluency_analysis",
            "en",
        )

    @pytest.mark.parametrize(
        "body",
        [
            {"type": "horoscope"},
            {"language": "xx"},
            {"type": "comprehensive", "language": "pt-BR"},
            {"type": "comprehensive", "audience": "family"},
        ],
    )
    async def test_an_unknown_type_or_language_is_422_and_nothing_is_queued(
        self,
        client: httpx.AsyncClient,
        sessions: Sessions,
        clinic: Clinic,
        recording: uuid.UUID,
        body: dict[str, str],
    ) -> None:
        response = await client.post(
            f"/audio_recordings/{recording}/reports", json=body, headers=clinic.admin.auth
        )
        assert response.status_code == 422
        assert error_code(response) == "validation_error"
        assert await report_jobs(sessions, clinic.admin, recording) == []
        listed = await client.get(
            f"/audio_recordings/{recording}/reports", headers=clinic.admin.auth
        )
        assert [r["automatic"] for r in listed.json()["items"]] == [True]

    async def test_before_processing_is_409(
        self, client: httpx.AsyncClient, sessions: Sessions, clinic: Clinic
    ) -> None:
        pending = await seed_pending(sessions, clinic.admin)
        response = await client.post(
            f"/audio_recordings/{pending}/reports", json={}, headers=clinic.admin.auth
        )
        assert response.status_code == 409
        assert error_code(response) == "annotation_not_ready"


class TestListReports:
    async def test_newest_first_automatic_one_included_in_pages(
        self, client: httpx.AsyncClient, clinic: Clinic, recording: uuid.UUID
    ) -> None:
        url = f"/audio_recordings/{recording}/reports"
        requested = []
        for language in ("fr", "es"):
            response = await client.post(
                url, json={"language": language}, headers=clinic.admin.auth
            )
            requested.append(response.json()["id"])
        first = (await client.get(url, params={"limit": 2}, headers=clinic.admin.auth)).json()
        assert [r["id"] for r in first["items"]] == requested[::-1]
        assert "content_markdown" not in first["items"][0]
        rest = await client.get(
            url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=clinic.admin.auth
        )
        (automatic,) = rest.json()["items"]
        assert (automatic["automatic"], automatic["status"], automatic["annotation_version"]) == (
            True,
            "ready",
            1,
        )
        assert rest.json()["next_cursor"] is None

    async def test_a_cursor_not_made_here_is_400(
        self, client: httpx.AsyncClient, clinic: Clinic, recording: uuid.UUID
    ) -> None:
        for cursor in ("yesterday", str(uuid.uuid4())):
            response = await client.get(
                f"/audio_recordings/{recording}/reports",
                params={"cursor": cursor},
                headers=clinic.admin.auth,
            )
            assert response.status_code == 400
            assert error_code(response) == "invalid_cursor"

    @pytest.mark.parametrize("who", ["outsider", "member"])
    async def test_another_clinic_or_an_unassigned_member_gets_404(
        self, client: httpx.AsyncClient, clinic: Clinic, recording: uuid.UUID, who: str
    ) -> None:
        account: Account = getattr(clinic, who)
        response = await client.get(f"/audio_recordings/{recording}/reports", headers=account.auth)
        assert response.status_code == 404


async def automatic_report_id(
    client: httpx.AsyncClient, account: Account, recording_id: uuid.UUID
) -> str:
    listed = await client.get(f"/audio_recordings/{recording_id}/reports", headers=account.auth)
    report_id: str = listed.json()["items"][-1]["id"]
    return report_id


class TestReadReport:
    async def test_json_and_markdown_each_audited_as_report_read(
        self, client: httpx.AsyncClient, sessions: Sessions, clinic: Clinic, recording: uuid.UUID
    ) -> None:
        report_id = await automatic_report_id(client, clinic.admin, recording)
        response = await client.get(f"/reports/{report_id}", headers=clinic.admin.auth)
        assert response.status_code == 200
        body = response.json()
        assert body["recording_id"] == str(recording)
        assert (body["type"], body["language"], body["status"], body["generator"]) == (
            "fluency_analysis",
            "en",
            "ready",
            "template",
        )
        assert body["annotation_version"] == 1
        assert body["content_markdown"].startswith("# ")
        assert body["created_at"]
        markdown = await client.get(
            f"/reports/{report_id}", params={"format": "md"}, headers=clinic.admin.auth
        )
        assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
        assert markdown.text == body["content_markdown"]
        entries = await audit_rows(sessions, clinic.admin, Action.report_read, report_id)
        assert [e.details["format"] for e in entries] == ["md", "json"]
        assert all(e.actor_id == uuid.UUID(clinic.admin.user["id"]) for e in entries)
        assert all("content" not in str(e.details) for e in entries)

    async def test_markdown_of_a_pending_report_is_409(
        self, client: httpx.AsyncClient, sessions: Sessions, clinic: Clinic, recording: uuid.UUID
    ) -> None:
        tenant_id = TenantId(uuid.UUID(clinic.admin.user["tenant_id"]))
        async with tenant_session(sessions, tenant_id) as session:
            pending = await reports.create_requested(
                session,
                tenant_id=tenant_id,
                recording_id=recording,
                report_type="comprehensive",
                language="en",
                annotation_version=1,
                requested_by=uuid.UUID(clinic.admin.user["id"]),
            )
        url = f"/reports/{pending.id}"
        as_json = await client.get(url, headers=clinic.admin.auth)
        assert (as_json.json()["status"], as_json.json()["content_markdown"]) == ("pending", None)
        response = await client.get(url, params={"format": "md"}, headers=clinic.admin.auth)
        assert response.status_code == 409
        assert error_code(response) == "report_not_ready"

    @pytest.mark.parametrize("who", ["outsider", "member"])
    async def test_another_clinic_or_an_unassigned_member_gets_404_unaudited(
        self,
        client: httpx.AsyncClient,
        sessions: Sessions,
        clinic: Clinic,
        recording: uuid.UUID,
        who: str,
    ) -> None:
        report_id = await automatic_report_id(client, clinic.admin, recording)
        account: Account = getattr(clinic, who)
        for fmt in ("json", "md"):
            response = await client.get(
                f"/reports/{report_id}", params={"format": fmt}, headers=account.auth
            )
            assert response.status_code == 404
            assert error_code(response) == "not_found"
        assert await audit_rows(sessions, clinic.admin, Action.report_read, report_id) == []

    async def test_an_unknown_report_is_404(
        self, client: httpx.AsyncClient, clinic: Clinic
    ) -> None:
        response = await client.get(f"/reports/{uuid.uuid4()}", headers=clinic.admin.auth)
        assert response.status_code == 404

    async def test_the_recordings_report_route_still_answers_and_is_audited(
        self, client: httpx.AsyncClient, sessions: Sessions, clinic: Clinic, recording: uuid.UUID
    ) -> None:
        response = await client.get(
            f"/audio_recordings/{recording}/report", headers=clinic.admin.auth
        )
        assert response.status_code == 200
        assert response.json()["metrics"]["percent_syllables_stuttered"] == 25.0
        entries = await audit_rows(sessions, clinic.admin, Action.report_read, recording)
        assert [(e.target_type, e.details) for e in entries] == [
            ("recording", {"report": "latest", "format": "json"})
        ]


# -- the job, on a database of its own (the session's Serve platform claims nothing here) --------


class Calls:
    """What the dispatcher was asked to do besides writing the requested reports."""

    def __init__(self) -> None:
        self.transcribed = 0
        self.processed = 0
        self.reports: list[str] = []


@pytest.fixture(scope="module")
def job_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    base = Settings.model_validate(
        {
            "FLUENTLY_ENV": Environment.test,
            "FLUENTLY_DATA_DIR": tmp_path_factory.mktemp("report-jobs"),
            "FLUENTLY_PG_PORT": free_port(),
            "JWT_SECRET": "report-jobs-secret-" + "z" * 40,
            "jobs": {"poll_interval_s": 0.5, "max_attempts": 1},
        }
    )
    resolved = prepare_database(base)
    yield resolved
    embedded_server(resolved).stop()


@dataclass
class Dispatcher:
    app: FastAPI
    sessions: Sessions
    calls: Calls


@pytest.fixture(scope="module")
async def dispatcher(job_settings: Settings) -> AsyncIterator[Dispatcher]:
    """The API and a job loop wired as the Serve dispatcher wires them, minus Ray: the report
    jobs write with an in-process generator; transcribing or processing counts a call (and
    fails)."""
    calls = Calls()
    generator = ReportGenerator([])

    async def transcribe_chunk(audio: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        calls.transcribed += 1
        raise AssertionError("a report must not transcribe again")

    async def process_report(
        *, transcript: Transcript, duration_s: float, report_type: str, language: str
    ) -> FluencyReport:
        calls.processed += 1
        raise AssertionError("a report must not measure the transcript again")

    async def write_report(
        *, transcript: Transcript, metrics: dict[str, Any], report_type: str, language: str
    ) -> FluencyReport:
        calls.reports.append(language)
        if language == "pt":
            raise RuntimeError("the report writer is down")
        return await asyncio.to_thread(
            generator.from_metrics,
            transcript=transcript,
            metrics=FluencyMetrics.from_dict(metrics),
            report_type=ReportType(report_type),
            language=ReportLanguage(language),
        )

    loop = JobLoop(job_settings, transcribe_chunk=transcribe_chunk, write_report=process_report)
    install(loop, write_report=write_report)
    app = create_app(job_settings)
    async with app.router.lifespan_context(app), seeding_sessions(job_settings) as sessions:
        loop.start()
        yield Dispatcher(app=app, sessions=sessions, calls=calls)
        await loop.stop()


async def wait_done(
    client: httpx.AsyncClient, account: Account, report_id: str, timeout_s: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body: dict[str, Any] = (
            await client.get(f"/reports/{report_id}", headers=account.auth)
        ).json()
        if body["status"] != ReportStatus.pending.value:
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"report {report_id} still pending after {timeout_s}s")


class TestReportJob:
    async def test_a_report_of_a_review_is_written_without_transcribing_again(
        self, dispatcher: Dispatcher
    ) -> None:
        async with client_of(dispatcher.app) as client:
            admin = await sign_up(client)
            recording = await seed_processed(dispatcher.sessions, admin)
            reviewed = await review_without_repetition(client, admin, recording)
            response = await client.post(
                f"/audio_recordings/{recording}/reports",
                json={"type": "comprehensive", "language": "de"},
                headers=admin.auth,
            )
            report = await wait_done(client, admin, response.json()["id"])
            latest = await client.get(f"/audio_recordings/{recording}/report", headers=admin.auth)
        assert report["status"] == "ready", report
        assert (report["annotation_version"], report["generator"]) == (2, "template")
        # The numbers are the review's (%SS 100/9), not the automatic analysis's (25).
        assert report["metrics"] == reviewed["metrics"]
        pss = percent(reviewed["metrics"]["percent_syllables_stuttered"], ReportLanguage.de)
        assert pss in report["content_markdown"]
        assert percent(25.0, ReportLanguage.de) not in report["content_markdown"]
        assert (dispatcher.calls.transcribed, dispatcher.calls.processed) == (0, 0)
        assert "de" in dispatcher.calls.reports
        # The recording's report route answers with the newest ready report.
        assert latest.json()["content_markdown"] == report["content_markdown"]

    async def test_a_failed_report_fails_alone(self, dispatcher: Dispatcher) -> None:
        async with client_of(dispatcher.app) as client:
            admin = await sign_up(client)
            recording = await seed_processed(dispatcher.sessions, admin)
            response = await client.post(
                f"/audio_recordings/{recording}/reports",
                json={"language": "pt"},
                headers=admin.auth,
            )
            report = await wait_done(client, admin, response.json()["id"])
            detail = await client.get(f"/audio_recordings/{recording}", headers=admin.auth)
        assert report["status"] == "failed"
        assert "the report writer is down" in report["error"]
        assert dispatcher.calls.reports.count("pt") == 1  # the fixture's one attempt per job
        assert detail.json()["status"] == "processed"
        assert detail.json()["report"]["language"] == "en"


# -- through the whole platform (Serve: dispatcher, report deployment) ---------------------------


@pytest.mark.slow
class TestThroughServe:
    async def test_a_confirmed_review_keeps_the_numbers_and_its_report_is_written(
        self, api: httpx.AsyncClient
    ) -> None:
        """espeak-ng's "so um, I wanted to to tell you about [2 s] uh, my my weekend", processed
        by the platform; the clinician confirms every event; a French report is asked for."""
        headers = await signup(api)
        uploaded = await upload(api, headers, FIXTURES / "disfluent_block.wav")
        recording = await wait_processed(api, headers, uploaded.json()["recording_id"])
        assert recording["status"] == "processed", recording
        url = f"/audio_recordings/{recording['id']}/annotation"
        automatic = await api.get(url, headers=headers)
        first = automatic.json()
        assert first["metrics"] == recording["report"]["metrics"] == recording["metrics"]
        assert any(e["type"] == "block" for e in first["events"])
        confirmed = await api.put(
            url,
            json={"segments": first["segments"], "events": first["events"]},
            headers={**headers, "If-Match": automatic.headers["etag"]},
        )
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["version"] == 2
        assert confirmed.json()["metrics"] == first["metrics"]

        requested = await api.post(
            f"/audio_recordings/{recording['id']}/reports",
            json={"language": "fr"},
            headers=headers,
        )
        assert requested.status_code == 202, requested.text
        report_url = f"/reports/{requested.json()['id']}"
        deadline = time.monotonic() + 120
        while (report := (await api.get(report_url, headers=headers)).json())[
            "status"
        ] == "pending":
            assert time.monotonic() < deadline, report
            await asyncio.sleep(0.5)
        assert (report["status"], report["annotation_version"]) == ("ready", 2), report
        assert report["metrics"] == first["metrics"]
        assert report["content_markdown"] != recording["report"]["content_markdown"]
