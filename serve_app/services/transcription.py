"""Transcription that stores nothing, for ``/v1/audio/transcriptions``: the recordings pipeline's
``transcribe_chunked``, with the local transcriber deployment for every chunk."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fluently import tracing
from fluently.errors import BadRequest, ServiceUnavailable
from fluently.settings import Settings
from pipelines.audio import Channel, InvalidAudio, PcmFile, decode_to_file, probe
from pipelines.transcription import transcribe_chunked
from pipelines.types import (
    SAMPLE_RATE,
    AudioArray,
    AudioSource,
    ChunkTranscript,
    Transcript,
    TranscriptionOptions,
)
from serve_app.services.audio import refused
from serve_app.services.languages import TranscriptionLanguages

MODEL_ALIAS = "whisper-1"
"""The name OpenAI clients send by default; it means the model the transcriber has loaded."""


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """What the local transcriber deployment has loaded."""

    backend: str
    model: str
    languages: list[str]
    """ISO 639-1 codes, sorted."""
    config: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TranscribedAudio:
    transcript: Transcript
    duration_s: float


class LocalTranscription:
    """The local transcriber deployment, asked directly rather than through the job queue."""

    def __init__(self, *, transcriber: Any, settings: Settings) -> None:
        self._transcriber = transcriber
        self._settings = settings

    @classmethod
    def available(cls, *, transcriber: Any | None, settings: Settings) -> LocalTranscription:
        """503 when there is no transcriber deployment (the app runs outside Serve)."""
        if transcriber is None:
            raise ServiceUnavailable(
                "transcription needs the transcriber deployment: run the platform under Ray "
                "Serve (fluently up / serve run serve_config.yaml)",
                code="service_unavailable",
            )
        return cls(transcriber=transcriber, settings=settings)

    async def loaded_model(self) -> LoadedModel:
        described: dict[str, Any] = await self._transcriber.describe.remote()
        return LoadedModel(
            backend=described["backend"],
            model=described["model"],
            languages=described["languages"],
            config=described["config"],
        )

    async def check(self, *, model: str | None, language: str | None) -> None:
        """400 ``model_not_found`` unless ``model`` is the alias or the loaded model, then 422
        ``unsupported_language`` when the loaded model does not transcribe ``language``
        (``None``: auto, or the model's default, is always accepted).

        Only a model name other than the alias is checked, so the common case costs no round
        trip to a busy transcriber replica.
        """
        if model is not None and model != MODEL_ALIAS:
            loaded = (await self.loaded_model()).model
            if model != loaded:
                raise BadRequest(
                    f"model '{model}' is not served here; use '{MODEL_ALIAS}' or '{loaded}'",
                    code="model_not_found",
                )
        if language is not None:
            await TranscriptionLanguages.for_local(local=self._transcriber).check(language)

    @asynccontextmanager
    async def load_audio(self, path: Path, channel: Channel) -> AsyncIterator[PcmFile]:
        """Prove the upload is audio, then decode it (``channel`` of it) to 16 kHz mono in a PCM
        file that lasts as long as the block; bad input is a 4xx."""
        tmp_dir = self._settings.data_dir / "tmp"
        await asyncio.to_thread(tmp_dir.mkdir, parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=tmp_dir, prefix="transcription-") as workdir:
            yield await asyncio.to_thread(
                _load_audio,
                path,
                Path(workdir) / "audio.f32",
                channel,
                self._settings.upload.max_duration_s,
            )

    async def transcribe(
        self, audio: AudioSource, *, options: TranscriptionOptions
    ) -> TranscribedAudio:
        """Chunk, transcribe and merge as a recording is, on the local transcriber alone."""
        pipeline = self._settings.pipeline
        transcript = await transcribe_chunked(
            audio,
            options,
            self._transcribe_chunk,
            target_s=pipeline.chunk_target_s,
            max_s=pipeline.chunk_max_s,
            overlap_s=pipeline.chunk_overlap_s,
            in_flight=pipeline.chunks_in_flight,
            disfluency_evidence=False,  # the OpenAI-compatible answer is the text only
        )
        return TranscribedAudio(transcript=transcript, duration_s=audio.samples / SAMPLE_RATE)

    async def _transcribe_chunk(
        self, samples: AudioArray, options: TranscriptionOptions
    ) -> ChunkTranscript:
        result: ChunkTranscript = await self._transcriber.transcribe.remote(
            samples, options, traceparent=tracing.traceparent()
        )
        return result


def _load_audio(path: Path, pcm_path: Path, channel: Channel, max_duration_s: float) -> PcmFile:
    try:
        probe(path, max_duration_s=max_duration_s)
        return decode_to_file(path, pcm_path, max_duration_s=max_duration_s, channel=channel)
    except InvalidAudio as exc:
        raise refused(exc) from exc
