"""Groq and Azure OpenAI backends, driven through the real SDKs against the loopback fake.

What a clinic notices: a recording still gets a real transcript and a narrative when a provider
rate-limits, errors, hangs or answers garbage, and the platform never hammers a provider that
said no or that is down.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from deployments.fallback import FallbackTranscriber
from deployments.fallback_chain import FallbackChain
from deployments.llm import RemoteChat, RemoteChatConfig
from deployments.local_transcriber import LocalTranscriberDeployment
from deployments.local_whisper import LocalWhisperConfig, LocalWhisperTranscriber
from deployments.remote_transcribers import (
    PROVIDER_UPLOAD_LIMIT_BYTES,
    RemoteTranscriber,
    RemoteTranscriberConfig,
)
from deployments.resilience import BreakerState, CircuitBreaker, RetryPolicy
from deployments.sdk_clients import AzureProvider, GroqProvider, parse_retry_after
from deployments.transcriber import AudioArray, BackendRejected, BackendUnavailable
from pipelines.audio import decode
from pipelines.types import ChunkTranscript, TranscriptionOptions
from tests.fake_providers import (
    AZURE_API_VERSION,
    AZURE_CHAT_DEPLOYMENT,
    AZURE_KEY,
    AZURE_TRANSCRIPTION_DEPLOYMENT,
    GROQ_KEY,
    NARRATIVE,
    SMUGGLING_NARRATIVE,
    FakeProviders,
    Fault,
)

AUDIO_DIR = Path(__file__).resolve().parents[2] / "shared" / "audio"
JFK_WORDS = "and so my fellow americans ask not what your country can do for you"
OPTIONS = TranscriptionOptions(language="en", prompt="Umm, let me think like, hmm...")
FAST = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05, timeout_s=20.0)
"""Retries in milliseconds, so tests spend their time on behaviour, not on waiting."""
GROQ_TRANSCRIPTION_MODEL = "whisper-large-v3-turbo"
GROQ_CHAT_MODEL = "llama-3.3-70b-versatile"


class Clock:
    """A hand-wound monotonic clock for circuit breakers."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _healed(fake: FakeProviders) -> Iterator[None]:
    fake.reset()
    yield
    fake.reset()


@pytest.fixture(scope="session")
def jfk() -> AudioArray:
    return decode(AUDIO_DIR / "jfk.flac")


@pytest.fixture(scope="session")
def local() -> LocalWhisperTranscriber:
    return LocalWhisperTranscriber(LocalWhisperConfig())


def groq_provider(fake: FakeProviders, api_key: str = GROQ_KEY) -> GroqProvider:
    return GroqProvider(api_key=api_key, base_url=fake.url)


def azure_provider(fake: FakeProviders) -> AzureProvider:
    return AzureProvider(api_key=AZURE_KEY, endpoint=fake.url, api_version=AZURE_API_VERSION)


def groq_transcriber(
    fake: FakeProviders,
    policy: RetryPolicy = FAST,
    breaker: CircuitBreaker | None = None,
    max_upload_bytes: int = PROVIDER_UPLOAD_LIMIT_BYTES,
) -> RemoteTranscriber:
    config = RemoteTranscriberConfig(
        provider=groq_provider(fake),
        model=GROQ_TRANSCRIPTION_MODEL,
        retry=policy,
        max_upload_bytes=max_upload_bytes,
    )
    return RemoteTranscriber(config, breaker=breaker)


def azure_transcriber(
    fake: FakeProviders, deployment: str = AZURE_TRANSCRIPTION_DEPLOYMENT
) -> RemoteTranscriber:
    return RemoteTranscriber(
        RemoteTranscriberConfig(provider=azure_provider(fake), model=deployment, retry=FAST)
    )


def words_of(transcript: ChunkTranscript) -> str:
    text = " ".join(s.text for s in transcript.segments).lower()
    return " ".join(re.findall(r"[a-z']+", text))


def assert_real_jfk(transcript: ChunkTranscript) -> None:
    assert JFK_WORDS in words_of(transcript)
    words = [w for s in transcript.segments for w in s.words]
    assert len(words) >= 20
    assert all(0.0 <= w.start <= w.end <= 11.1 for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)


class TestGroqTranscriber:
    def test_healthy_groq_returns_real_words_and_sends_what_groq_requires(
        self, fake: FakeProviders, jfk: AudioArray
    ) -> None:
        transcript = groq_transcriber(fake).transcribe(jfk, OPTIONS)

        assert (transcript.backend, transcript.model) == ("groq", GROQ_TRANSCRIPTION_MODEL)
        assert transcript.language == "en"
        assert_real_jfk(transcript)
        (request,) = fake.groq.audio_requests
        assert request.headers["authorization"] == f"Bearer {GROQ_KEY}"
        assert request.headers["content-type"].startswith("multipart/form-data")
        assert {"file", "model", "response_format", "language", "prompt"} <= request.form_fields
        assert request.form["response_format"] == ["verbose_json"]
        assert request.form["timestamp_granularities[]"] == ["word", "segment"]
        assert request.form["prompt"] == [OPTIONS.prompt]
        assert request.files["file"] < jfk.size * 2 * 0.75  # FLAC, well under 16-bit PCM

    def test_rate_limit_waits_for_retry_after_then_succeeds_on_groq(
        self, fake: FakeProviders, jfk: AudioArray
    ) -> None:
        fake.groq.script_audio([Fault.rate_limited("1"), Fault.rate_limited("1")])
        policy = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=5.0, timeout_s=20.0)

        started = time.monotonic()
        transcript = groq_transcriber(fake, policy).transcribe(jfk, OPTIONS)

        assert time.monotonic() - started >= 1.95
        assert transcript.backend == "groq"
        assert [r.status for r in fake.groq.audio_requests] == [429, 429, 200]

    def test_retry_after_longer_than_policy_allows_gives_up_at_once(
        self, fake: FakeProviders, jfk: AudioArray
    ) -> None:
        fake.groq.always(Fault.rate_limited("120"))

        started = time.monotonic()
        with pytest.raises(BackendUnavailable):
            groq_transcriber(fake).transcribe(jfk, OPTIONS)

        assert time.monotonic() - started < 5
        assert len(fake.groq.audio_requests) == 1

    @pytest.mark.parametrize("status", [400, 401, 404, 413, 422])
    def test_client_errors_are_not_retried(
        self, fake: FakeProviders, jfk: AudioArray, status: int
    ) -> None:
        fake.groq.always(Fault(status))

        with pytest.raises(BackendRejected):
            groq_transcriber(fake).transcribe(jfk, OPTIONS)

        assert [r.status for r in fake.groq.audio_requests] == [status]

    def test_wrong_api_key_is_rejected_by_the_provider(
        self, fake: FakeProviders, jfk: AudioArray
    ) -> None:
        config = RemoteTranscriberConfig(
            provider=groq_provider(fake, api_key="gsk_wrong"),
            model=GROQ_TRANSCRIPTION_MODEL,
            retry=FAST,
        )

        with pytest.raises(BackendRejected, match="Invalid API Key"):
            RemoteTranscriber(config).transcribe(jfk, OPTIONS)

        assert [r.status for r in fake.groq.audio_requests] == [401]

    def test_server_errors_are_retried_up_to_the_policy(
        self, fake: FakeProviders, jfk: AudioArray
    ) -> None:
        fake.groq.always(Fault(503))

        with pytest.raises(BackendUnavailable, match="after 3 attempt"):
            groq_transcriber(fake).transcribe(jfk, OPTIONS)

        assert [r.status for r in fake.groq.audio_requests] == [503, 503, 503]

    def test_malformed_json_is_unavailable_not_retried(
        self, fake: FakeProviders, jfk: AudioArray
    ) -> None:
        fake.groq.always(Fault.malformed())

        with pytest.raises(BackendUnavailable, match="unreadable"):
            groq_transcriber(fake).transcribe(jfk, OPTIONS)

        assert len(fake.groq.audio_requests) == 1

    def test_chunk_over_the_upload_limit_is_refused_before_sending(
        self, fake: FakeProviders, jfk: AudioArray
    ) -> None:
        groq = groq_transcriber(fake, max_upload_bytes=100_000)

        with pytest.raises(BackendRejected, match="upload limit"):
            groq.transcribe(jfk, OPTIONS)

        assert fake.groq.requests == []
        assert groq.max_chunk_s < jfk.size / 16_000
        assert groq_transcriber(fake).max_chunk_s > 600  # 25 MB is over ten minutes of FLAC


class TestAzureTranscriber:
    def test_healthy_azure_returns_real_words_and_sends_what_azure_requires(
        self, fake: FakeProviders, jfk: AudioArray
    ) -> None:
        transcript = azure_transcriber(fake).transcribe(jfk, OPTIONS)

        assert (transcript.backend, transcript.model) == ("azure", AZURE_TRANSCRIPTION_DEPLOYMENT)
        assert_real_jfk(transcript)
        (request,) = fake.azure.audio_requests
        assert (
            request.path
            == f"/openai/deployments/{AZURE_TRANSCRIPTION_DEPLOYMENT}/audio/transcriptions"
        )
        assert request.query["api-version"] == [AZURE_API_VERSION]
        assert request.headers["api-key"] == AZURE_KEY
        assert request.form["model"] == [AZURE_TRANSCRIPTION_DEPLOYMENT]
        assert request.form["response_format"] == ["verbose_json"]

    def test_unknown_deployment_is_rejected(self, fake: FakeProviders, jfk: AudioArray) -> None:
        with pytest.raises(BackendRejected, match="deployment for this resource does not exist"):
            azure_transcriber(fake, deployment="no-such-deployment").transcribe(jfk, OPTIONS)

        assert [r.status for r in fake.azure.audio_requests] == [404]


class TestLanguages:
    """A backend is asked only for a language it transcribes: tiny.en given Portuguese would
    write English words that were never said, and call it a transcript."""

    def test_each_backend_declares_what_it_transcribes(
        self, fake: FakeProviders, local: LocalWhisperTranscriber
    ) -> None:
        assert local.languages == {"en"}
        for remote in (groq_transcriber(fake), azure_transcriber(fake)):
            assert {"en", "pt", "es", "fr", "de"} <= remote.languages
            assert "xx" not in remote.languages

    def test_a_backend_that_does_not_transcribe_the_language_is_skipped(
        self, fake: FakeProviders, jfk: AudioArray, local: LocalWhisperTranscriber
    ) -> None:
        chain = FallbackTranscriber([local, azure_transcriber(fake)])
        portuguese = TranscriptionOptions(language="pt")

        assert chain.transcribe(jfk, portuguese).backend == "azure"
        with pytest.raises(BackendRejected, match="transcribes 'pt'"):
            FallbackTranscriber([local]).transcribe(jfk, portuguese)

    async def test_with_the_providers_down_the_english_only_model_refuses_portuguese(
        self, fake: FakeProviders, jfk: AudioArray
    ) -> None:
        """The dispatcher's route for a chunk: providers first, then the local deployment."""
        fake.groq.always(Fault(503))
        fake.azure.always(Fault(500))
        deployment = LocalTranscriberDeployment()

        async def transcribe_locally(
            audio: AudioArray, options: TranscriptionOptions
        ) -> ChunkTranscript:
            return await asyncio.to_thread(deployment.transcribe, audio, options)

        router = FallbackChain(
            [groq_transcriber(fake), azure_transcriber(fake)], transcribe_locally
        )
        with pytest.raises(BackendRejected, match="does not transcribe 'pt'"):
            await router(jfk, TranscriptionOptions(language="pt"))
        assert len(fake.groq.audio_requests) == len(fake.azure.audio_requests) == 3
        assert (await router(jfk, TranscriptionOptions(language="en"))).backend == "local"


class TestFallbackTranscriber:
    def test_groq_down_falls_back_to_azure(self, fake: FakeProviders, jfk: AudioArray) -> None:
        fake.groq.always(Fault(500))
        chain = FallbackTranscriber([groq_transcriber(fake), azure_transcriber(fake)])

        transcript = chain.transcribe(jfk, OPTIONS)

        assert transcript.backend == "azure"
        assert_real_jfk(transcript)
        assert len(fake.groq.audio_requests) == FAST.max_attempts

    def test_both_providers_down_falls_back_to_local_whisper(
        self, fake: FakeProviders, jfk: AudioArray, local: LocalWhisperTranscriber
    ) -> None:
        fake.groq.always(Fault(503))
        fake.azure.always(Fault(500))
        chain = FallbackTranscriber([groq_transcriber(fake), azure_transcriber(fake), local])

        transcript = chain.transcribe(jfk, OPTIONS)

        assert (transcript.backend, transcript.model) == ("local", "tiny.en")
        assert JFK_WORDS in words_of(transcript)
        assert len(fake.groq.audio_requests) == len(fake.azure.audio_requests) == 3

    def test_hanging_groq_is_timed_out_retried_then_skipped(
        self, fake: FakeProviders, jfk: AudioArray
    ) -> None:
        fake.groq.always(Fault.slow(30))
        policy = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.05, timeout_s=0.5)
        chain = FallbackTranscriber([groq_transcriber(fake, policy), azure_transcriber(fake)])

        started = time.monotonic()
        transcript = chain.transcribe(jfk, OPTIONS)

        assert transcript.backend == "azure"
        assert len(fake.groq.audio_requests) == 2
        # Groq's answers would take 30 s; the margin under that is for tiny.en on a busy machine.
        assert time.monotonic() - started < 25

    def test_rejection_by_groq_moves_on_without_retrying_groq(
        self, fake: FakeProviders, jfk: AudioArray
    ) -> None:
        fake.groq.always(Fault(400))
        chain = FallbackTranscriber([groq_transcriber(fake), azure_transcriber(fake)])

        assert chain.transcribe(jfk, OPTIONS).backend == "azure"
        assert len(fake.groq.audio_requests) == 1

    def test_everyone_down_is_unavailable_and_everyone_refusing_is_rejected(
        self, fake: FakeProviders, jfk: AudioArray
    ) -> None:
        chain = FallbackTranscriber([groq_transcriber(fake), azure_transcriber(fake)])
        fake.groq.always(Fault(500))
        fake.azure.always(Fault(400))
        with pytest.raises(BackendUnavailable, match=r"groq.*azure"):
            chain.transcribe(jfk, OPTIONS)

        fake.groq.always(Fault(413))
        with pytest.raises(BackendRejected):
            chain.transcribe(jfk, OPTIONS)

    def test_open_circuit_skips_groq_until_the_reset_timeout(
        self, fake: FakeProviders, jfk: AudioArray
    ) -> None:
        clock = Clock()
        breaker = CircuitBreaker(name="groq", failure_threshold=2, reset_timeout_s=30, clock=clock)
        once = RetryPolicy(max_attempts=1, timeout_s=20.0)
        chain = FallbackTranscriber(
            [groq_transcriber(fake, once, breaker), azure_transcriber(fake)]
        )
        fake.groq.always(Fault(500))
        fake.azure.always(Fault(500))  # no transcription needed to watch groq being skipped

        for _ in range(3):
            with pytest.raises(BackendUnavailable):
                chain.transcribe(jfk, OPTIONS)
        assert breaker.state is BreakerState.open
        assert len(fake.groq.audio_requests) == 2  # the third call did not even ask groq
        assert len(fake.azure.audio_requests) == 3 * FAST.max_attempts

        fake.groq.always(None)
        clock.now += 29
        with pytest.raises(BackendUnavailable):
            chain.transcribe(jfk, OPTIONS)
        assert len(fake.groq.audio_requests) == 2

        clock.now += 1
        assert breaker.state is BreakerState.half_open
        assert chain.transcribe(jfk, OPTIONS).backend == "groq"
        assert breaker.state is BreakerState.closed
        assert len(fake.groq.audio_requests) == 3


class TestChat:
    SYSTEM = "You write clinical fluency reports. Answer with a JSON object."
    USER = json.dumps({"metrics": {"percent_syllables_stuttered": 4.2}, "transcript": "um my my"})

    @staticmethod
    def groq_chat(fake: FakeProviders, policy: RetryPolicy = FAST) -> RemoteChat:
        return RemoteChat(
            RemoteChatConfig(provider=groq_provider(fake), model=GROQ_CHAT_MODEL, retry=policy)
        )

    @staticmethod
    def azure_chat(fake: FakeProviders) -> RemoteChat:
        return RemoteChat(
            RemoteChatConfig(provider=azure_provider(fake), model=AZURE_CHAT_DEPLOYMENT, retry=FAST)
        )

    def test_groq_chat_returns_the_json_narrative(self, fake: FakeProviders) -> None:
        chat = self.groq_chat(fake)

        reply = chat.complete_json(system=self.SYSTEM, user=self.USER)

        assert json.loads(reply) == json.loads(NARRATIVE)
        assert chat.name == f"groq:{GROQ_CHAT_MODEL}"
        (request,) = fake.groq.chat_requests
        assert request.headers["authorization"] == f"Bearer {GROQ_KEY}"
        assert request.json["response_format"] == {"type": "json_object"}
        assert request.json["model"] == GROQ_CHAT_MODEL
        assert request.json["temperature"] <= 0.3
        assert [m["role"] for m in request.json["messages"]] == ["system", "user"]

    def test_azure_chat_returns_the_json_narrative(self, fake: FakeProviders) -> None:
        chat = self.azure_chat(fake)

        reply = chat.complete_json(system=self.SYSTEM, user=self.USER)

        assert json.loads(reply) == json.loads(NARRATIVE)
        assert chat.name == f"azure:{AZURE_CHAT_DEPLOYMENT}"
        (request,) = fake.azure.chat_requests
        assert request.path == f"/openai/deployments/{AZURE_CHAT_DEPLOYMENT}/chat/completions"
        assert request.query["api-version"] == [AZURE_API_VERSION]
        assert request.headers["api-key"] == AZURE_KEY
        assert request.json["response_format"] == {"type": "json_object"}

    def test_reply_is_passed_on_verbatim_as_untrusted_text(self, fake: FakeProviders) -> None:
        fake.groq.chat_content = SMUGGLING_NARRATIVE

        reply = self.groq_chat(fake).complete_json(system=self.SYSTEM, user=self.USER)

        assert reply == SMUGGLING_NARRATIVE

    def test_rate_limit_then_success(self, fake: FakeProviders) -> None:
        fake.azure.script_chat([Fault(429, headers={"retry-after-ms": "20"})])

        assert self.azure_chat(fake).complete_json(system=self.SYSTEM, user=self.USER)
        assert [r.status for r in fake.azure.chat_requests] == [429, 200]

    @pytest.mark.parametrize("fault", [Fault(500), Fault(503), Fault.malformed()])
    def test_faults_make_chat_unavailable(self, fake: FakeProviders, fault: Fault) -> None:
        fake.groq.always(fault)

        with pytest.raises(BackendUnavailable):
            self.groq_chat(fake).complete_json(system=self.SYSTEM, user=self.USER)

    def test_hanging_chat_times_out(self, fake: FakeProviders) -> None:
        fake.groq.always(Fault.slow(30))
        policy = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.05, timeout_s=0.3)

        with pytest.raises(BackendUnavailable):
            self.groq_chat(fake, policy).complete_json(system=self.SYSTEM, user=self.USER)

        assert len(fake.groq.chat_requests) == 2

    def test_json_mode_without_the_word_json_is_rejected_once(self, fake: FakeProviders) -> None:
        with pytest.raises(BackendRejected, match="must contain the word 'json'"):
            self.groq_chat(fake).complete_json(system="Write a report.", user="um my my")

        assert [r.status for r in fake.groq.chat_requests] == [400]


class TestRetryPolicyAndBreaker:
    def test_full_jitter_stays_within_the_capped_exponential_ceiling(self) -> None:
        policy = RetryPolicy(base_delay_s=0.5, max_delay_s=4.0)

        for retry, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (10, 4.0)]:
            delays = np.array([policy.backoff_s(retry) for _ in range(500)])
            assert delays.min() >= 0.0
            assert delays.max() <= ceiling
            assert delays.max() > 0.8 * ceiling  # spread over the whole range, not a fixed wait

    def test_retry_after_forms(self) -> None:
        now = time.time()
        in_ten = email.utils.formatdate(now + 10, usegmt=True)

        assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
        assert parse_retry_after({"retry-after": "3"}) == 3.0
        assert parse_retry_after({"retry-after": in_ten}, now=now) == pytest.approx(10, abs=1)
        assert parse_retry_after({"retry-after": "soon"}) is None
        assert parse_retry_after({}) is None

    def test_breaker_lets_one_probe_through_when_half_open(self) -> None:
        clock = Clock()
        breaker = CircuitBreaker(name="groq", failure_threshold=3, reset_timeout_s=10, clock=clock)
        for _ in range(3):
            assert breaker.allow_request()
            breaker.record_failure()
        assert not breaker.allow_request()

        clock.now = 10
        assert breaker.allow_request()
        assert not breaker.allow_request()  # a second caller waits for the probe
        breaker.record_failure()
        assert breaker.state is BreakerState.open

        clock.now = 20
        assert breaker.allow_request()
        breaker.record_success()
        assert breaker.state is BreakerState.closed
        assert breaker.allow_request()
