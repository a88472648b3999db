"""Silero VAD over a recording read block by block.

faster-whisper's ``get_speech_timestamps`` takes the whole recording as one array and makes two
more of its size (padded, then with each window's context prepended): 1.4 GB for two hours. Its
model already runs in batches of ``_BATCH_WINDOWS`` windows that carry the LSTM state from one to
the next, so here each batch is read on its own, given the same context and state, and the
speech probabilities come out the same; ``speech_timestamps`` then turns them into spans with
faster-whisper's rules (same options, same results: ``tests/test_coverage.py`` compares them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from faster_whisper.vad import VadOptions, get_vad_model

from pipelines.types import AudioSource

WINDOW = 512
"""Samples per speech probability (32 ms at 16 kHz), as the model takes them."""
_CONTEXT = 64
"""Samples of the window before that the model sees with each window."""
_BATCH_WINDOWS = 10_000
"""Windows per model call: faster-whisper's encoder batch, so state is handed on where it is."""


def speech_probabilities(source: AudioSource) -> np.ndarray:
    """Silero's speech probability for each ``WINDOW`` of ``source`` (the last zero-padded)."""
    session = get_vad_model().session
    h = np.zeros((1, 1, 128), dtype=np.float32)
    c = np.zeros((1, 1, 128), dtype=np.float32)
    context = np.zeros(_CONTEXT, dtype=np.float32)
    step = WINDOW * _BATCH_WINDOWS
    # faster-whisper pads a whole window even when the length is a multiple of one.
    padded = (source.samples // WINDOW + 1) * WINDOW
    outputs = []
    for start in range(0, padded, step):
        block = source.read(start, min(start + step, padded))
        block = np.pad(block, (0, min(step, padded - start) - len(block)))
        windows = block.reshape(-1, WINDOW)
        if start + step >= padded:
            windows[-1, -_CONTEXT:] = 0  # as faster-whisper does, writing through its view
        contexts = np.concatenate([context[None, :], windows[:-1, -_CONTEXT:]])
        context = windows[-1, -_CONTEXT:].copy()
        output, h, c = session.run(
            None, {"input": np.concatenate([contexts, windows], axis=1), "h": h, "c": c}
        )
        outputs.append(output)
    return np.concatenate(outputs, axis=0).reshape(-1)


def speech_timestamps(
    probabilities: np.ndarray, samples: int, options: VadOptions, sample_rate: int
) -> list[dict[str, int]]:
    """Speech spans (``start``/``end`` in samples) from ``speech_probabilities`` of audio
    ``samples`` long, by faster-whisper's ``get_speech_timestamps`` rules for ``options``."""
    threshold = options.threshold
    neg_threshold = options.neg_threshold
    if neg_threshold is None:
        neg_threshold = max(threshold - 0.15, 0.01)
    min_speech_samples = sample_rate * options.min_speech_duration_ms / 1000
    speech_pad_samples = sample_rate * options.speech_pad_ms / 1000
    max_speech_samples = (
        sample_rate * options.max_speech_duration_s - WINDOW - 2 * speech_pad_samples
    )
    min_silence_samples = sample_rate * options.min_silence_duration_ms / 1000
    min_silence_samples_at_max_speech = sample_rate * 98 / 1000

    triggered = False
    speeches: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    temp_end = prev_end = next_start = 0
    for i, probability in enumerate(probabilities.tolist()):
        at = WINDOW * i
        if probability >= threshold and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = at
        if probability >= threshold and not triggered:
            triggered = True
            current["start"] = at
            continue
        if triggered and at - current["start"] > max_speech_samples:
            if prev_end:
                current["end"] = prev_end
                speeches.append(current)
                current = {}
                if next_start < prev_end:
                    triggered = False
                else:
                    current["start"] = next_start
                prev_end = next_start = temp_end = 0
            else:
                current["end"] = at
                speeches.append(current)
                current = {}
                prev_end = next_start = temp_end = 0
                triggered = False
                continue
        if probability < neg_threshold and triggered:
            if not temp_end:
                temp_end = at
            if at - temp_end > min_silence_samples_at_max_speech:
                prev_end = temp_end
            if at - temp_end < min_silence_samples:
                continue
            current["end"] = temp_end
            if current["end"] - current["start"] > min_speech_samples:
                speeches.append(current)
            current = {}
            prev_end = next_start = temp_end = 0
            triggered = False
    if current and samples - current["start"] > min_speech_samples:
        current["end"] = samples
        speeches.append(current)
    _pad(speeches, speech_pad_samples, samples)
    return speeches


def _pad(speeches: list[dict[str, Any]], pad: float, samples: int) -> None:
    """Widen each span by ``pad`` each side, or to the middle of a shorter gap between two."""
    for i, speech in enumerate(speeches):
        if i == 0:
            speech["start"] = int(max(0, speech["start"] - pad))
        if i != len(speeches) - 1:
            silence = speeches[i + 1]["start"] - speech["end"]
            if silence < 2 * pad:
                speech["end"] += int(silence // 2)
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - silence // 2))
            else:
                speech["end"] = int(min(samples, speech["end"] + pad))
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - pad))
        else:
            speech["end"] = int(min(samples, speech["end"] + pad))
