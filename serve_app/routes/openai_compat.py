"""OpenAI-compatible transcription, so the official ``openai`` client works unchanged.

``POST /v1/audio/transcriptions`` is synchronous and stores nothing: the upload is validated,
then transcribed as a recording is (``services.transcription``) on the local transcriber
deployment, and answered in OpenAI's shapes. ``GET /v1/models`` lists the model the
transcriber has loaded, and ``whisper-1`` as an alias of it.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from deployments.languages import for_backend
from fluently.errors import BadRequest, NotFound
from pipelines import exports
from pipelines.audio import Channel
from pipelines.types import Segment, TranscriptionOptions
from serve_app.body_limit import body_limit
from serve_app.deps import LocalTranscriptionDep, SettingsDep, get_current_user
from serve_app.openapi import CHANNEL_FIELD, text_responses
from serve_app.services.choices import choice
from serve_app.services.languages import parse_language
from serve_app.services.transcription import MODEL_ALIAS, LocalTranscription, TranscribedAudio
from serve_app.uploads import multipart_body, receive_upload

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(get_current_user)])

_SERVING_SINCE = int(time.time())
"""OpenAI's ``created`` for a model: here, when this ingress started serving it."""
_GRANULARITIES_FIELD = "timestamp_granularities[]"


class ResponseFormat(StrEnum):
    json = "json"
    text = "text"
    srt = "srt"
    vtt = "vtt"
    verbose_json = "verbose_json"


class Granularity(StrEnum):
    word = "word"
    segment = "segment"


@dataclass(frozen=True, slots=True)
class TranscriptionRequest:
    """The form fields of one request, validated."""

    model: str | None
    options: TranscriptionOptions
    response_format: ResponseFormat
    granularities: frozenset[Granularity]
    channel: Channel
    """Fluently's own field, as on ``POST /audio_recordings``: the speech to transcribe in a
    two-channel file (both mixed, the default, or one of them)."""


def parse_request(fields: dict[str, str], granularities: Sequence[str]) -> TranscriptionRequest:
    """Validate OpenAI's form fields. ``temperature`` is checked as OpenAI checks it (a number
    from 0 to 1) and then not used: decoding starts at 0 and falls back as whisper does. Fields
    we don't know are ignored."""
    _check_temperature(fields.get("temperature"))
    language = parse_language(fields.get("language"))
    channel = choice(fields.get("channel"), Channel, "channel")
    if fields.get("stream", "").lower() == "true":
        raise BadRequest("streaming transcription is not supported", code="stream_unsupported")
    try:
        response_format = ResponseFormat(fields.get("response_format") or "json")
        chosen = frozenset(Granularity(g) for g in granularities)
    except ValueError as exc:
        raise BadRequest(
            "response_format must be one of json, text, srt, vtt, verbose_json, and "
            "timestamp_granularities[] one of word, segment",
            code="invalid_request",
        ) from exc
    return TranscriptionRequest(
        model=fields.get("model", "").strip() or None,
        options=TranscriptionOptions(
            language=for_backend(language) if language else None,
            prompt=fields.get("prompt") or None,
        ),
        response_format=response_format,
        granularities=chosen or frozenset({Granularity.segment}),
        channel=channel,
    )


def _check_temperature(given: str | None) -> None:
    if given is None or not given.strip():
        return
    try:
        value = float(given)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise BadRequest(
            f"temperature must be a number from 0 to 1, not {given!r}", code="invalid_request"
        )


@router.post(
    "/audio/transcriptions",
    response_model=None,
    responses=text_responses("text/plain"),
    openapi_extra=multipart_body(
        model={"type": "string", "default": MODEL_ALIAS},
        language={
            "type": "string",
            "description": "An ISO 639-1 code, or 'auto'; 422 invalid_language otherwise, "
            "422 unsupported_language when the served model does not transcribe it.",
        },
        prompt={"type": "string"},
        response_format={
            "type": "string",
            "enum": [f.value for f in ResponseFormat],
            "default": "json",
        },
        **{
            _GRANULARITIES_FIELD: {
                "type": "array",
                "items": {"type": "string", "enum": ["word", "segment"]},
            }
        },
        temperature={
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "Checked as OpenAI checks it, then not used: decoding starts at 0 "
            "and falls back to higher temperatures as whisper does.",
        },
        channel={
            **CHANNEL_FIELD,
            "description": "Fluently's own, sent with the SDK's extra_body. "
            + CHANNEL_FIELD["description"],
        },
    ),
)
@body_limit(None)  # streamed, bounded by receive_upload
async def create_transcription(
    request: Request, transcription: LocalTranscriptionDep, settings: SettingsDep
) -> Response:
    """Transcribe an audio file, answering as OpenAI's transcription endpoint does."""
    async with receive_upload(
        request, tmp_dir=settings.data_dir / "tmp", max_bytes=settings.upload.max_bytes
    ) as upload:
        wanted = parse_request(upload.fields, upload.field_values.get(_GRANULARITIES_FIELD, []))
        await transcription.check(model=wanted.model, language=wanted.options.language)
        async with transcription.load_audio(upload.path, wanted.channel) as audio:
            result = await transcription.transcribe(audio, options=wanted.options)
    return _render(result, wanted)


@router.get("/models")
async def list_models(transcription: LocalTranscriptionDep) -> dict[str, Any]:
    """The model the transcriber has loaded, and ``whisper-1``, its alias, in OpenAI's shape,
    each with the ISO 639-1 codes of the ``languages`` it transcribes."""
    return {"object": "list", "data": await _models(transcription)}


@router.get("/models/{model}", responses={404: {"description": "model_not_found"}})
async def retrieve_model(model: str, transcription: LocalTranscriptionDep) -> dict[str, Any]:
    """One of the models ``GET /v1/models`` lists (``client.models.retrieve`` in the SDK)."""
    for entry in await _models(transcription):
        if entry["id"] == model:
            return entry
    raise NotFound(
        f"no model {model!r} is served here; GET /v1/models lists them", code="model_not_found"
    )


async def _models(transcription: LocalTranscription) -> list[dict[str, Any]]:
    loaded = await transcription.loaded_model()
    entry = {
        "object": "model",
        "created": _SERVING_SINCE,
        "owned_by": "fluently",
        "backend": loaded.backend,
        "languages": loaded.languages,
        "config": loaded.config,
    }
    return [
        {"id": loaded.model, **entry},
        {"id": MODEL_ALIAS, **entry, "alias_for": loaded.model},
    ]


def _render(result: TranscribedAudio, wanted: TranscriptionRequest) -> Response:
    transcript = result.transcript
    match wanted.response_format:
        case ResponseFormat.json:
            return JSONResponse({"text": transcript.text})
        case ResponseFormat.text:
            return PlainTextResponse(exports.to_txt(transcript))
        case ResponseFormat.srt:
            return PlainTextResponse(exports.to_srt(transcript))
        case ResponseFormat.vtt:
            return PlainTextResponse(exports.to_vtt(transcript))
        case ResponseFormat.verbose_json:
            return JSONResponse(_verbose(result, wanted.granularities))


def _verbose(result: TranscribedAudio, granularities: frozenset[Granularity]) -> dict[str, Any]:
    transcript = result.transcript
    body: dict[str, Any] = {
        "task": "transcribe",
        "language": transcript.language,
        "duration": round(result.duration_s, 3),
        "text": transcript.text,
    }
    if Granularity.segment in granularities:
        body["segments"] = [_segment(i, s) for i, s in enumerate(exports.cues(transcript))]
    if Granularity.word in granularities:
        body["words"] = [
            {"word": w.word, "start": w.start, "end": w.end} for w in transcript.words()
        ]
    return body


def _segment(index: int, segment: Segment) -> dict[str, Any]:
    """OpenAI's segment fields. The merge keeps word probabilities, not token log-probs, so
    ``avg_logprob`` is the mean log-probability of the segment's words; ``seek`` is its start
    in Whisper's 10 ms frames; ``no_speech_prob`` is not kept, and is 0."""
    text = segment.text.strip()
    encoded = text.encode()
    logprobs = [math.log(max(w.probability, 1e-10)) for w in segment.words]
    return {
        "id": index,
        "seek": round(segment.start * 100),
        "start": segment.start,
        "end": segment.end,
        "text": " " + text,
        "tokens": [],
        "temperature": 0.0,
        "avg_logprob": sum(logprobs) / len(logprobs) if logprobs else 0.0,
        "compression_ratio": len(encoded) / len(zlib.compress(encoded)) if encoded else 0.0,
        "no_speech_prob": 0.0,
    }
