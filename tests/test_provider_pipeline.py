"""The recording pipeline against Groq and Azure OpenAI (a loopback fake speaking their real
protocols, driven by the real SDKs): preference order, retries on 429, fallback to Azure and
then to the local model, and LLM-written reports with a template fallback.

Runs the real dispatcher, database, storage and local model in this process, on a database of
its own so the session's Serve platform does not claim these jobs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from benchmarks.wer import wer
from deployments.fallback_chain import FallbackChain
from deployments.job_loop import JobLoop
from deployments.local_whisper import LocalWhisperConfig, LocalWhisperTranscriber
from deployments.providers import chat_clients, remote_transcribers
from deployments.report_generator import ReportGenerator
from fluently.bootstrap import embedded_server, prepare_database
from fluently.launcher import free_port
from fluently.settings import Environment, Settings
from pipelines.types import ChunkTranscript, FluencyReport, Transcript, TranscriptionOptions
from serve_app.app import create_app
from tests.fake_providers import (
    AZURE_KEY,
    GROQ_KEY,
    SMUGGLING_NARRATIVE,
    FakeProviders,
    Fault,
)
from tests.support import FIXTURES, JFK_TEXT, SHARED_AUDIO, signup, upload, wait_processed


@pytest.fixture(scope="module")
def provider_settings(
    fake: FakeProviders, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    base = Settings.model_validate(
        {
            "FLUENTLY_ENV": Environment.test,
            "FLUENTLY_DATA_DIR": tmp_path_factory.mktemp("providers"),
            "FLUENTLY_PG_PORT": free_port(),
            "JWT_SECRET": "provider-secret-" + "y" * 40,
            "GROQ_API_KEY": GROQ_KEY,
            "GROQ_BASE_URL": fake.url,
            "AZURE_OPENAI_KEY": AZURE_KEY,
            "AZURE_OPENAI_ENDPOINT": fake.url,
            "FLUENTLY_PROVIDER_TIMEOUT_S": 20,
            "jobs": {"poll_interval_s": 1, "max_attempts": 1},
        }
    )
    settings = prepare_database(base)
    yield settings
    embedded_server(settings).stop()


@pytest.fixture(scope="module")
async def pipeline(provider_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The in-process API plus a dispatcher wired like the Serve one, minus Ray."""
    local = LocalWhisperTranscriber(LocalWhisperConfig(cpu_threads=2))

    async def transcribe_locally(
        audio: np.ndarray, options: TranscriptionOptions
    ) -> ChunkTranscript:
        return await asyncio.to_thread(local.transcribe, audio, options)

    generator = ReportGenerator(chat_clients(provider_settings))

    async def write_report(
        *, transcript: Transcript, duration_s: float, report_type: str, language: str
    ) -> FluencyReport:
        return await asyncio.to_thread(
            generator.generate,
            transcript=transcript,
            duration_s=duration_s,
            report_type=report_type,
            language=language,
        )

    dispatcher = JobLoop(
        provider_settings,
        transcribe_chunk=FallbackChain(remote_transcribers(provider_settings), transcribe_locally),
        write_report=write_report,
    )
    app = create_app(provider_settings)
    async with app.router.lifespan_context(app):
        dispatcher.start()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c
        await dispatcher.stop()


@pytest.fixture(autouse=True)
def _healed(fake: FakeProviders) -> Iterator[None]:
    fake.reset()
    yield
    fake.reset()


async def process(client: httpx.AsyncClient, fixture: str, **fields: str) -> dict[str, Any]:
    headers = await signup(client)
    path = SHARED_AUDIO / fixture if fixture == "jfk.flac" else FIXTURES / fixture
    response = await upload(client, headers, path, **fields)
    assert response.status_code == 202, response.text
    body = await wait_processed(client, headers, response.json()["recording_id"])
    assert body["status"] == "processed", body
    return body


class TestPreferenceAndFallback:
    async def test_groq_is_preferred_when_healthy(
        self, pipeline: httpx.AsyncClient, fake: FakeProviders
    ) -> None:
        body = await process(pipeline, "jfk.flac")
        assert body["transcript"]["backend"] == "groq"
        assert body["transcript"]["model"] == "whisper-large-v3-turbo"
        assert wer(JFK_TEXT, body["transcript"]["text"]) <= 0.10
        request = fake.groq.audio_requests[0]
        assert request.headers["authorization"] == f"Bearer {GROQ_KEY}"
        assert {"file", "model", "response_format"} <= request.form_fields
        assert not fake.azure.audio_requests

    async def test_rate_limited_groq_is_retried_after_retry_after(
        self, pipeline: httpx.AsyncClient, fake: FakeProviders
    ) -> None:
        fake.groq.script_audio([Fault.rate_limited("1"), Fault.rate_limited("1")])
        started = asyncio.get_running_loop().time()
        body = await process(pipeline, "jfk.opus")
        assert body["transcript"]["backend"] == "groq"
        assert len(fake.groq.audio_requests) == 3
        assert asyncio.get_running_loop().time() - started >= 2.0
        assert not fake.azure.audio_requests

    async def test_a_failing_groq_falls_back_to_azure(
        self, pipeline: httpx.AsyncClient, fake: FakeProviders
    ) -> None:
        fake.groq.always(Fault(500))
        body = await process(pipeline, "jfk.ogg")
        assert body["transcript"]["backend"] == "azure"
        request = fake.azure.audio_requests[0]
        assert request.headers["api-key"] == AZURE_KEY
        assert "api-version" in request.query

    async def test_a_400_from_groq_is_not_retried(
        self, pipeline: httpx.AsyncClient, fake: FakeProviders
    ) -> None:
        fake.groq.always(Fault(400))
        body = await process(pipeline, "jfk.mp3")
        assert len(fake.groq.audio_requests) <= 1
        assert body["transcript"]["backend"] == "azure"

    async def test_with_both_providers_down_the_local_model_transcribes(
        self, pipeline: httpx.AsyncClient, fake: FakeProviders
    ) -> None:
        fake.groq.always(Fault(503))
        fake.azure.always(Fault(500))
        body = await process(pipeline, "jfk.webm")
        assert body["transcript"]["backend"] == "local"
        assert wer(JFK_TEXT, body["transcript"]["text"]) <= 0.10


class TestReportWriters:
    async def test_a_healthy_llm_writes_the_narrative_in_each_language(
        self, pipeline: httpx.AsyncClient, fake: FakeProviders
    ) -> None:
        body = await process(pipeline, "jfk.m4a", report_language="de")
        report = body["report"]
        assert report["generator"].startswith("groq:")
        assert report["language"] == "de"
        assert fake.groq.chat_requests

    async def test_with_every_llm_down_a_template_report_is_written(
        self, pipeline: httpx.AsyncClient, fake: FakeProviders
    ) -> None:
        fake.groq.always(Fault(500), endpoint="chat")
        fake.azure.always(Fault(500), endpoint="chat")
        body = await process(pipeline, "jfk_audio_only.mp4", report_language="pt")
        assert body["report"]["generator"] == "template"
        assert body["report"]["metrics"]["word_count"] > 10

    async def test_a_smuggling_reply_changes_neither_numbers_nor_structure(
        self, pipeline: httpx.AsyncClient, fake: FakeProviders
    ) -> None:
        """The same audio twice: once with an honest narrative, once with one that tries to add
        headings, a metrics table, "0 disfluencies" and instructions."""
        honest = (await process(pipeline, "jfk_44k_stereo.wav"))["report"]
        fake.groq.chat_content = SMUGGLING_NARRATIVE
        smuggled = (await process(pipeline, "jfk_44k_stereo.wav"))["report"]
        assert smuggled["generator"].startswith("groq:")
        assert smuggled["metrics"] == honest["metrics"]

        def skeleton(markdown: str) -> tuple[list[str], list[str]]:
            lines = markdown.splitlines()
            return (
                [line for line in lines if line.startswith("#")],
                [line for line in lines if line.startswith("|")],
            )

        assert skeleton(smuggled["content_markdown"]) == skeleton(honest["content_markdown"])
