"""The main path end to end: upload → durable job → chunked transcription → merged transcript.

Bad input is checked on the in-process app (no Ray needed); processing runs on the whole
platform under ``serve run`` on a real local Ray with the bundled Whisper model.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from pydantic import SecretStr

from benchmarks.wer import wer
from fluently.settings import Settings
from tests.fake_providers import AZURE_KEY, GROQ_KEY, FakeProviders
from tests.fidelity import (
    CORPUS,
    DELETIONS,
    FILE_WER,
    fidelity,
    lost_runs,
    raw_alone,
    reference,
)
from tests.platform import Platform
from tests.support import (
    FIXTURES,
    JFK_TEXT,
    SHARED_AUDIO,
    STEREO_SPEAKERS,
    app_client,
    signup,
    stored_state,
    upload,
    wait_processed,
)


@pytest.fixture(scope="module")
async def limited_client(settings: Settings) -> Any:
    """The in-process app with small limits, for the bad-input cases."""
    small = settings.model_copy(
        update={
            "upload": settings.upload.model_copy(
                update={"max_bytes": 1_500_000, "max_duration_s": 8}
            ),
            "auth": settings.auth.model_copy(update={"signup_limit_per_ip": 10_000}),
        }
    )
    async with app_client(small) as c:
        yield c


class TestUploadValidation:
    async def test_unauthenticated_upload_is_refused(self, client: httpx.AsyncClient) -> None:
        response = await upload(client, {}, SHARED_AUDIO / "jfk.flac")
        assert response.status_code == 401
        assert response.json()["error"]["code"]

    @pytest.mark.parametrize(
        ("fixture", "status", "code"),
        [
            ("empty.wav", 422, "empty_file"),
            ("random_bytes.mp3", 422, None),
            ("png_image.wav", 422, None),
            ("notes.txt", 422, None),
            ("truncated_header.mp3", 422, None),
            ("truncated_header.wav", 422, None),
            ("video_no_audio.mp4", 422, None),
            ("truncated_index.m4a", 422, "corrupt_audio"),
            ("jfk_44k_stereo.wav", 413, "file_too_large"),
            ("jfk.flac", 413, "audio_too_long"),
        ],
    )
    async def test_bad_input_is_refused_and_nothing_is_stored(
        self,
        limited_client: httpx.AsyncClient,
        settings: Settings,
        superuser_conninfo: str,
        fixture: str,
        status: int,
        code: str | None,
    ) -> None:
        headers = await signup(limited_client)
        path = SHARED_AUDIO / fixture if fixture == "jfk.flac" else FIXTURES / fixture
        before = stored_state(superuser_conninfo, settings)
        response = await upload(limited_client, headers, path)
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["message"]
        if code is not None:
            assert error["code"] == code
        assert stored_state(superuser_conninfo, settings) == before

    async def test_missing_file_field_and_unknown_report_type(
        self, limited_client: httpx.AsyncClient, settings: Settings, superuser_conninfo: str
    ) -> None:
        headers = await signup(limited_client)
        before = stored_state(superuser_conninfo, settings)
        missing = await limited_client.post(
            "/audio_recordings", headers=headers, files={"other": ("x", b"abc")}
        )
        assert missing.status_code == 400
        assert missing.json()["error"]["code"] == "missing_file"
        bad_type = await upload(
            limited_client, headers, FIXTURES / "jfk.opus", report_type="horoscope"
        )
        assert bad_type.status_code == 422
        assert bad_type.json()["error"]["code"] == "invalid_report_type"
        assert stored_state(superuser_conninfo, settings) == before

    async def test_a_misspelt_field_is_refused_not_ignored(
        self, limited_client: httpx.AsyncClient, settings: Settings, superuser_conninfo: str
    ) -> None:
        """``report_langauge=pt`` would otherwise give an English report without a word."""
        headers = await signup(limited_client)
        before = stored_state(superuser_conninfo, settings)
        response = await upload(
            limited_client, headers, FIXTURES / "jfk.opus", report_langauge="pt"
        )
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "unknown_field"
        assert "'report_langauge'" in error["message"] and "report_language" in error["message"]
        assert stored_state(superuser_conninfo, settings) == before


class TestUploadChannel:
    """``channel`` picks the speech of a two-channel recording: both mixed (the default), or
    the left or right one alone."""

    @pytest.mark.parametrize(
        ("fixture", "channel", "code"),
        [
            ("disfluent_block.wav", "left", "invalid_channel"),  # one channel: no left to keep
            ("disfluent_block.wav", "right", "invalid_channel"),
            ("jfk.opus", "both", "invalid_channel"),
            ("jfk.opus", "LEFT", "invalid_channel"),
        ],
    )
    async def test_a_channel_the_file_cannot_give_is_refused_and_nothing_is_stored(
        self,
        client: httpx.AsyncClient,
        settings: Settings,
        superuser_conninfo: str,
        fixture: str,
        channel: str,
        code: str,
    ) -> None:
        headers = await signup(client)
        before = stored_state(superuser_conninfo, settings)
        response = await upload(client, headers, FIXTURES / fixture, channel=channel)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == code
        assert "mix" in error["message"]
        assert stored_state(superuser_conninfo, settings) == before

    async def test_each_channel_of_the_same_bytes_is_a_recording_of_its_own(
        self, client: httpx.AsyncClient
    ) -> None:
        """The client on one channel and the clinician on the other are two speakers: the same
        file sent for each is two recordings, each sent again gives back its own."""
        headers = await signup(client)
        stereo = SHARED_AUDIO / "stereo_diarization.wav"
        ids: dict[str, str] = {}
        for channel in ("right", "left", "mix"):
            response = await upload(client, headers, stereo, channel=channel)
            assert response.status_code == 202, response.text
            ids[channel] = response.json()["recording_id"]
            body = (await client.get(f"/audio_recordings/{ids[channel]}", headers=headers)).json()
            assert body["channel"] == channel
        assert len(set(ids.values())) == 3
        for fields in ({"channel": "right"}, {"channel": "mix"}, {}):
            again = await upload(client, headers, stereo, **fields)
            assert again.status_code == 200, again.text
            assert again.json()["recording_id"] == ids[fields.get("channel", "mix")]
        mono = await upload(client, headers, FIXTURES / "disfluent_block.wav")
        mono_recording = f"/audio_recordings/{mono.json()['recording_id']}"
        assert (await client.get(mono_recording, headers=headers)).json()["channel"] == "mix"
        for path in [*(f"/audio_recordings/{i}" for i in ids.values()), mono_recording]:
            assert (await client.delete(path, headers=headers)).status_code == 204


def with_providers(settings: Settings, fake: FakeProviders, *providers: str) -> Settings:
    """``settings`` with Groq and/or Azure OpenAI enabled, pointed at the loopback fake."""
    update: dict[str, Any] = {
        "auth": settings.auth.model_copy(update={"signup_limit_per_ip": 100_000})
    }
    if "groq" in providers:
        update |= {"groq_api_key": SecretStr(GROQ_KEY), "groq_base_url": fake.url}
    if "azure" in providers:
        update |= {"azure_openai_key": SecretStr(AZURE_KEY), "azure_openai_endpoint": fake.url}
    return settings.model_copy(update=update)


class TestUploadLanguage:
    """``language`` is what is spoken: an ISO 639-1 code a configured backend transcribes, or
    ``auto``. The in-process app has no transcriber deployment to ask, so it vouches for
    English (every Whisper model) and the enabled remote backends' languages."""

    @pytest.mark.parametrize("language", ["xx", "english", "pt-BR", "por", "e"])
    async def test_a_language_that_is_not_iso_639_1_is_refused_and_nothing_is_stored(
        self, client: httpx.AsyncClient, settings: Settings, superuser_conninfo: str, language: str
    ) -> None:
        headers = await signup(client)
        before = stored_state(superuser_conninfo, settings)
        response = await upload(client, headers, FIXTURES / "jfk.opus", language=language)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_language"
        assert "ISO 639-1" in response.json()["error"]["message"]
        assert stored_state(superuser_conninfo, settings) == before

    async def test_a_language_only_english_models_would_get_is_refused_and_nothing_is_stored(
        self, client: httpx.AsyncClient, settings: Settings, superuser_conninfo: str
    ) -> None:
        headers = await signup(client)
        before = stored_state(superuser_conninfo, settings)
        response = await upload(client, headers, FIXTURES / "jfk.opus", language="pt")
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "unsupported_language"
        assert "'pt'" in error["message"] and "en" in error["message"]
        assert stored_state(superuser_conninfo, settings) == before

    @pytest.mark.parametrize("language", ["auto", "en", "EN"])
    async def test_auto_and_english_are_accepted(
        self, client: httpx.AsyncClient, language: str
    ) -> None:
        headers = await signup(client)
        response = await upload(client, headers, FIXTURES / "jfk.opus", language=language)
        assert response.status_code == 202, response.text
        recording = f"/audio_recordings/{response.json()['recording_id']}"
        assert (await client.delete(recording, headers=headers)).status_code == 204

    @pytest.mark.parametrize("providers", [("groq",), ("azure",), ("groq", "azure")])
    async def test_a_language_a_remote_whisper_transcribes_is_accepted(
        self, settings: Settings, fake: FakeProviders, providers: tuple[str, ...]
    ) -> None:
        async with app_client(with_providers(settings, fake, *providers)) as client:
            headers = await signup(client)
            response = await upload(client, headers, FIXTURES / "jfk.opus", language="pt")
            assert response.status_code == 202, response.text
            recording = f"/audio_recordings/{response.json()['recording_id']}"
            assert (await client.delete(recording, headers=headers)).status_code == 204
            invalid = await upload(client, headers, FIXTURES / "jfk.opus", language="xx")
            assert invalid.json()["error"]["code"] == "invalid_language"

    async def test_groqs_english_only_model_does_not_make_portuguese_transcribable(
        self, settings: Settings, fake: FakeProviders, superuser_conninfo: str
    ) -> None:
        english_only = with_providers(settings, fake, "groq").model_copy(
            update={"groq_transcription_model": "distil-whisper-large-v3-en"}
        )
        async with app_client(english_only) as client:
            headers = await signup(client)
            before = stored_state(superuser_conninfo, settings)
            response = await upload(client, headers, FIXTURES / "jfk.opus", language="pt")
            assert response.status_code == 422, response.text
            assert response.json()["error"]["code"] == "unsupported_language"
            assert stored_state(superuser_conninfo, settings) == before


class TestProcessing:
    async def test_a_sentence_across_a_chunk_cut_and_stuttered_speech_are_kept(
        self, api: httpx.AsyncClient
    ) -> None:
        """Through the Serve deployments: a 99-word sentence runs across the first cut, and
        part-word repetitions ("buh buh brother") come back as words, not as nothing."""
        headers = await signup(api)
        name = "run_on_sentence"
        recording_id = (await upload(api, headers, CORPUS / f"{name}.opus")).json()["recording_id"]
        stutter = await upload(api, headers, FIXTURES / "part_word_repetitions.wav")
        body = await wait_processed(api, headers, recording_id)
        assert body["status"] == "processed" and body["progress"]["chunks_total"] == 2, body
        coverage = body["transcript"]["coverage"]
        assert coverage["voiced_s"] > 100 and coverage["unrecovered_s"] < 2.0, coverage
        raw_text = await asyncio.to_thread(raw_alone, name)
        assert_as_faithful_as_raw(name, body["transcript"], raw_text)

        stuttered = await wait_processed(api, headers, stutter.json()["recording_id"])
        assert stuttered["status"] == "processed", stuttered
        words = [w for s in stuttered["transcript"]["segments"] for w in s["words"]]
        assert len(words) >= 6, stuttered["transcript"]["text"]  # its words vary: it samples
        assert words[0]["start"] < 0.5 and words[-1]["end"] > stuttered["duration_s"] - 0.6

    async def test_a_file_cut_short_is_as_long_as_the_audio_it_holds(
        self, api: httpx.AsyncClient, tmp_path: Path
    ) -> None:
        """An MP3 cut off after 44 kB keeps the header of the whole 11 s: the recording says
        that at upload, and once processed how long the audio decoded is, as its report does."""
        headers = await signup(api)
        cut = tmp_path / "cut.mp3"
        cut.write_bytes((FIXTURES / "jfk.mp3").read_bytes()[:44_000])
        accepted = await upload(api, headers, cut)
        assert accepted.status_code == 202, accepted.text
        recording_id = accepted.json()["recording_id"]
        body = await wait_processed(api, headers, recording_id)
        assert body["status"] == "processed", body
        decoded = body["report"]["metrics"]["duration_s"]
        assert 3.0 < decoded < 8.0, decoded
        assert body["duration_s"] == pytest.approx(decoded, abs=0.01)

    async def test_each_channel_of_two_speakers_gives_its_own_speaker(
        self, api: httpx.AsyncClient
    ) -> None:
        """``stereo_diarization.wav``: one speaker a channel, talking over each other. Mixed,
        whisper wrote a garble of both, and the report says the two channels carried different
        sounds; each channel alone is its speaker's sentence."""
        headers = await signup(api)
        stereo = SHARED_AUDIO / "stereo_diarization.wav"
        said: dict[str, str | None] = {**STEREO_SPEAKERS, "mix": None}
        sent = {side: await upload(api, headers, stereo, channel=side) for side in said}
        for side, response in sent.items():
            assert response.status_code == 202, response.text
            body = await wait_processed(api, headers, response.json()["recording_id"])
            assert body["status"] == "processed" and body["channel"] == side, body
            transcript, markdown = body["transcript"], body["report"]["content_markdown"]
            mixed = side == "mix"
            assert transcript["coverage"].get("channels_apart", False) is mixed, transcript
            assert ("## Two voices on two channels" in markdown) is mixed, markdown
            if not mixed:
                assert wer(STEREO_SPEAKERS[side], transcript["text"]) <= 0.25, transcript["text"]

    async def test_jfk_is_transcribed_with_word_timestamps(self, api: httpx.AsyncClient) -> None:
        headers = await signup(api)
        response = await upload(api, headers, SHARED_AUDIO / "jfk.flac")
        assert response.status_code == 202, response.text
        recording_id = response.json()["recording_id"]
        assert response.json()["status"] == "pending"
        assert response.headers["location"] == f"/audio_recordings/{recording_id}"

        body = await wait_processed(api, headers, recording_id)
        assert body["status"] == "processed", body
        transcript = body["transcript"]
        assert transcript["backend"] == "local"
        assert wer(JFK_TEXT, transcript["text"]) <= 0.10, transcript["text"]
        words = [w for s in transcript["segments"] for w in s["words"]]
        assert words
        assert all(0 <= w["start"] <= w["end"] <= body["duration_s"] + 0.05 for w in words)
        assert body["progress"]["chunks_done"] == body["progress"]["chunks_total"] >= 1

        again = await upload(api, headers, SHARED_AUDIO / "jfk.flac")
        assert again.status_code == 200
        assert again.json()["recording_id"] == recording_id

        first = await api.get(f"/audio_recordings/{recording_id}", headers=headers)
        etag = first.headers["etag"]
        cached = await api.get(
            f"/audio_recordings/{recording_id}", headers={**headers, "If-None-Match": etag}
        )
        assert cached.status_code == 304
        weakened = await api.get(  # as a compressing proxy passes it on
            f"/audio_recordings/{recording_id}", headers={**headers, "If-None-Match": f"W/{etag}"}
        )
        assert weakened.status_code == 304

        exports = {
            fmt: await api.get(
                f"/audio_recordings/{recording_id}/transcript",
                params={"format": fmt},
                headers=headers,
            )
            for fmt in ("txt", "json", "srt", "vtt")
        }
        assert all(r.status_code == 200 for r in exports.values())
        assert "country" in exports["txt"].text.lower()
        assert exports["json"].json()["text"] == transcript["text"]
        assert re.search(r"00:00:0\d,\d{3} --> ", exports["srt"].text)
        assert exports["vtt"].text.startswith("WEBVTT")

        listing = (await api.get("/audio_recordings", headers=headers)).json()
        assert [item["id"] for item in listing["items"]] == [recording_id]

        deleted = await api.delete(f"/audio_recordings/{recording_id}", headers=headers)
        assert deleted.status_code == 204
        gone = await api.get(f"/audio_recordings/{recording_id}", headers=headers)
        assert gone.status_code == 404

    async def test_every_browser_and_desktop_format_gives_the_same_text(
        self, api: httpx.AsyncClient
    ) -> None:
        headers = await signup(api)
        names = [
            "jfk_44k_stereo.wav",
            "jfk.mp3",
            "jfk.m4a",
            "jfk.ogg",
            "jfk.opus",
            "jfk.webm",
            "jfk_audio_only.mp4",
        ]
        ids = {}
        for name in names:
            response = await upload(api, headers, FIXTURES / name)
            assert response.status_code == 202, (name, response.text)
            ids[name] = response.json()["recording_id"]
        for name, recording_id in ids.items():
            body = await wait_processed(api, headers, recording_id)
            assert body["status"] == "processed", (name, body)
            assert wer(JFK_TEXT, body["transcript"]["text"]) <= 0.10, (name, body["transcript"])

    async def test_the_loaded_model_decides_the_languages_and_auto_lets_it_choose(
        self, api: httpx.AsyncClient, superuser_conninfo: str, settings: Settings
    ) -> None:
        """Under Serve the ingress asks the transcriber deployment (tiny.en: English only)."""
        headers = await signup(api)
        before = stored_state(superuser_conninfo, settings)
        refused = await upload(api, headers, FIXTURES / "jfk.opus", language="pt")
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "unsupported_language"
        assert stored_state(superuser_conninfo, settings) == before

        response = await upload(api, headers, SHARED_AUDIO / "jfk.flac", language="auto")
        assert response.status_code == 202, response.text
        body = await wait_processed(api, headers, response.json()["recording_id"])
        assert body["status"] == "processed", body
        assert body["transcript"]["language"] == "en"
        assert wer(JFK_TEXT, body["transcript"]["text"]) <= 0.10, body["transcript"]["text"]

    async def test_ten_seconds_of_silence_invent_no_words(self, api: httpx.AsyncClient) -> None:
        headers = await signup(api)
        response = await upload(api, headers, FIXTURES / "silence_10s.flac")
        body = await wait_processed(api, headers, response.json()["recording_id"])
        assert body["status"] == "processed"
        assert body["transcript"]["text"].strip() == ""
        # Nothing said, nothing measured: no "0 %SS" that would read as fluent speech.
        assert body["metrics"]["word_count"] == 0
        assert body["metrics"]["percent_syllables_stuttered"] is None

    async def test_pagination_is_newest_first_by_cursor(self, api: httpx.AsyncClient) -> None:
        headers = await signup(api)
        ids = []
        for name in ("jfk.opus", "jfk.ogg", "jfk.mp3"):
            ids.append((await upload(api, headers, FIXTURES / name)).json()["recording_id"])
        first = (await api.get("/audio_recordings?limit=2", headers=headers)).json()
        assert [i["id"] for i in first["items"]] == ids[::-1][:2]
        second = (
            await api.get(
                f"/audio_recordings?limit=2&cursor={first['next_cursor']}", headers=headers
            )
        ).json()
        assert [i["id"] for i in second["items"]] == [ids[0]]
        assert second["next_cursor"] is None


@pytest.fixture(scope="module")
def raw_lecture() -> str:
    """Raw faster-whisper on the corpus's 10-minute lecture: one ``WhisperModel.transcribe``
    call with the model and decoding settings of the platform's ``LocalTranscriber``, in a
    process of its own."""
    return raw_alone("lecture_10min")


def assert_as_faithful_as_raw(name: str, transcript: dict[str, Any], raw_text: str) -> None:
    """The bounds of ``tests/test_corpus.py``, for a transcript that came through Serve."""
    raw = fidelity(reference(name), raw_text)
    platform = fidelity(reference(name), transcript["text"])
    detail = (raw, platform, transcript["coverage"])
    assert platform.deletion_rate <= raw.deletion_rate + DELETIONS, detail
    assert lost_runs(platform, raw) == [], detail
    assert platform.wer <= raw.wer + FILE_WER, detail


class TestDurability:
    async def test_a_long_recording_survives_its_worker_being_killed(
        self,
        api: httpx.AsyncClient,
        platform: Platform,
        superuser_conninfo: str,
        raw_lecture: str,
    ) -> None:
        """10 minutes, six voices: chunked, fanned out, merged; kill -9 the dispatcher mid-way."""
        headers = await signup(api)
        response = await upload(api, headers, CORPUS / "lecture_10min.opus")
        assert response.status_code == 202
        recording_id = response.json()["recording_id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            body = (await api.get(f"/audio_recordings/{recording_id}", headers=headers)).json()
            if body["status"] == "processing" and body["progress"]["chunks_total"] > 0:
                break
            await asyncio.sleep(0.5)
        assert body["progress"]["chunks_total"] >= 5, body["progress"]
        victims = platform.processes("ServeReplica:fluently:Dispatcher")
        assert victims, "no dispatcher replica found"
        for proc in victims:
            proc.kill()

        body = await wait_processed(api, headers, recording_id, timeout_s=600)
        assert body["status"] == "processed", body
        with psycopg.connect(superuser_conninfo) as conn:
            transcripts = conn.execute(
                "SELECT count(*) FROM transcriptions WHERE recording_id = %s", (recording_id,)
            ).fetchone()
            attempts = conn.execute(
                "SELECT attempts, status FROM jobs WHERE recording_id = %s", (recording_id,)
            ).fetchone()
        assert transcripts == (1,)
        assert attempts is not None and attempts[0] >= 2 and attempts[1] == "done"
        # Chunked, merged and coverage-checked: no worse than one unchunked call.
        assert_as_faithful_as_raw("lecture_10min", body["transcript"], raw_lecture)

    async def test_a_restart_finishes_queued_jobs_and_a_hopeless_job_fails(
        self,
        platform: Platform,
        client: httpx.AsyncClient,
        settings: Settings,
    ) -> None:
        """Jobs queued while the platform is down run when it comes back; SSE sees it all."""
        # Serve shut down by ``serve run`` itself, not killed after its grace: so it is even
        # where this suite was started with SIGINT ignored (a CI step, a background job).
        assert platform.stop() == 0
        try:
            headers = await signup(client)
            queued = []
            for name in ("jfk.ogg", "jfk.webm"):
                response = await upload(client, headers, FIXTURES / name)
                assert response.status_code == 202
                queued.append(response.json()["recording_id"])
            broken = (await upload(client, headers, FIXTURES / "jfk.m4a")).json()["recording_id"]
            for path in (settings.data_dir / "audio").rglob(broken):
                path.unlink()

            async def follow(recording_id: str) -> list[dict[str, Any]]:
                events = []
                async with client.stream(
                    "GET", f"/audio_recordings/{recording_id}/events", headers=headers
                ) as stream:
                    async for line in stream.aiter_lines():
                        if line.startswith("data:"):
                            events.append(json.loads(line[5:]))
                return events

            listener = asyncio.create_task(follow(queued[0]))
            await asyncio.sleep(1)
        finally:
            # Up again even when a step above failed: the session's later tests need it.
            await asyncio.to_thread(platform.start)
        async with httpx.AsyncClient(base_url=platform.url, timeout=60) as api:
            for recording_id in queued:
                body = await wait_processed(api, headers, recording_id)
                assert body["status"] == "processed", body
            failed = await wait_processed(api, headers, broken, timeout_s=120)
        assert failed["status"] == "failed"
        assert "attempts" in failed["error"] and "KeyError" in failed["error"]

        events = await asyncio.wait_for(listener, timeout=30)
        statuses = [e["status"] for e in events]
        assert statuses[0] == "pending"
        assert "processing" in statuses
        assert statuses[-1] == "processed"
        done = [e["progress"]["chunks_done"] for e in events]
        assert done == sorted(done) and done[-1] >= 1
