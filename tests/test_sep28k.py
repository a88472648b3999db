"""The SEP-28k benchmark (``benchmarks/sep28k.py``): its clip-by-clip scoring on hand-made votes,
and the script on a small folder laid out as SEP-28k's ``extract_clips.py`` writes it.

SEP-28k's audio is not redistributed (its scripts download it), so the script's run here is
on clips of the repository's own fixtures given SEP-28k names and votes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.sep28k_eval import Clip, read_labels, score
from tests.support import FIXTURES

REPO = Path(__file__).resolve().parents[1]
HEADER = (
    "Show,EpId,ClipId,Start,Stop,Unsure,PoorAudioQuality,Prolongation,Block,SoundRep,WordRep,"
    "DifficultToUnderstand,Interjection,NoStutteredWords,NaturalPause,Music,NoSpeech"
)


def votes(**given: int) -> dict[str, int]:
    return given


def event(kind: str, subtype: str | None = None) -> dict[str, Any]:
    return {"type": kind, "subtype": subtype, "text": "x", "start": 0.0}


class TestScore:
    def test_a_type_most_annotators_heard_is_in_the_clip_and_one_none_heard_is_not(
        self,
    ) -> None:
        runs = [
            # Three heard a word said again; the platform counted a whole-word repetition.
            (Clip("a_0_1", votes(WordRep=3)), [event("repetition", "whole_word")], 10),
            # Two heard a filler; the platform counted nothing.
            (Clip("a_0_2", votes(Interjection=2)), [], 10),
            # None heard a prolongation; the platform counted one: a false detection.
            (Clip("a_0_3", votes(WordRep=2)), [event("prolongation")], 10),
            # One of three heard a block: unsure, so the platform's block counts neither way.
            (Clip("a_0_4", votes(Block=1, SoundRep=3)), [event("block")], 10),
        ]
        total = score(runs).as_dict()["per_type"]
        assert total["WordRep"] == {
            "labelled": 2,
            "detected": 1,
            "found": 1,
            "precision": 1.0,
            "recall": 0.5,
        }
        assert total["Interjection"]["recall"] == 0.0 and total["Interjection"]["detected"] == 0
        assert total["Prolongation"] == {
            "labelled": 0,
            "detected": 1,
            "found": 0,
            "precision": 0.0,
            "recall": None,
        }
        assert total["Block"]["detected"] == 0
        assert total["SoundRep"]["labelled"] == 1 and total["SoundRep"]["found"] == 0

    def test_a_phrase_said_again_is_a_word_repetition(self) -> None:
        runs = [(Clip("a_0_1", votes(WordRep=3)), [event("repetition", "phrase")], 10)]
        assert score(runs).types["WordRep"].found == 1

    def test_fluent_clips_count_false_events_and_unclear_clips_are_left_out(self) -> None:
        runs = [
            (Clip("a_0_1", votes(NoStutteredWords=3)), [event("interjection")], 8),
            (Clip("a_0_2", votes(NoStutteredWords=3)), [], 12),
            # Fluent to most, yet one annotator heard a prolongation: not a fluent control.
            (Clip("a_0_3", votes(NoStutteredWords=2, Prolongation=1)), [], 9),
            (Clip("a_0_4", votes(Music=2, WordRep=3)), [event("repetition", "whole_word")], 9),
        ]
        total = score(runs).as_dict()
        assert total["clips_scored"] == 3 and total["clips_left_out"] == 1
        assert total["fluent"] == {
            "clips": 2,
            "clips_with_events": 1,
            "events_per_100_syllables": 5.0,
        }
        assert total["per_type"]["WordRep"]["labelled"] == 0
        # With one vote enough, the third clip holds a prolongation.
        assert score(runs, min_votes=1).types["Prolongation"].labelled == 1


class TestLabels:
    def test_sep28k_and_speechbrain_layouts_are_read(self, tmp_path: Path) -> None:
        apple = tmp_path / "SEP-28k_labels.csv"
        apple.write_text(f"{HEADER}\nHeStutters,0,11,1,2,0,0,0,0,0,0,0,1,2,0,0,0\n")
        # speechbrain's sample adds an index column and others of its own.
        extra = tmp_path / "SEP28k-E_test.csv"
        extra.write_text(
            f",speaker,{HEADER}\n7,x,WomenWhoStutter, 3 ,5,1,2,0,0,1,0,0,0,0,0,0,0,0,0\n"
        )
        (clip,) = read_labels(apple)
        assert clip.name == "HeStutters_0_11"
        assert {k: v for k, v in clip.votes.items() if v} == {
            "Interjection": 1,
            "NoStutteredWords": 2,
        }
        assert read_labels(extra)[0].name == "WomenWhoStutter_3_5"
        assert read_labels(extra)[0].votes["Prolongation"] == 1

    def test_a_file_without_the_vote_columns_is_refused(self, tmp_path: Path) -> None:
        wrong = tmp_path / "other.csv"
        wrong.write_text("Show,EpId,ClipId,Stutter\nA,0,1,1\n")
        with pytest.raises(ValueError, match=r"not a SEP-28k labels file.*Prolongation"):
            read_labels(wrong)


def test_the_script_scores_the_clips_it_finds(tmp_path: Path) -> None:
    """Clips at SEP-28k's depth (``clips/<Show>/<EpId>/``), one labelled clip missing; the JSON
    says what was found, scored and left out, and lists each clip's transcript and events."""
    clips = tmp_path / "clips" / "Fixture" / "0"
    clips.mkdir(parents=True)
    shutil.copy(FIXTURES / "disfluent_block.wav", clips / "Fixture_0_1.wav")
    labels = tmp_path / "labels.csv"
    labels.write_text(
        f"{HEADER}\n"
        "Fixture,0,1,0,1,0,0,0,1,0,3,0,3,0,0,0,0\n"
        "Fixture,0,2,0,1,0,0,0,0,0,0,0,0,3,0,0,0\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "sep28k.py"),
            "--labels",
            str(labels),
            "--clips",
            str(tmp_path / "clips"),
            "--results-dir",
            str(tmp_path / "results"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert json.loads((tmp_path / "results" / "sep28k.json").read_text()) == summary
    assert (summary["clips_found"], summary["clips_not_found"]) == (1, 1)
    assert (summary["clips_scored"], summary["clips_left_out"]) == (1, 0)
    assert summary["per_type"]["WordRep"]["labelled"] == 1
    assert summary["per_type"]["Interjection"]["labelled"] == 1
    (clip,) = summary["per_clip"]
    assert clip["clip"] == "Fixture_0_1" and clip["transcript"]
    assert clip["votes"] == {"Block": 1, "WordRep": 3, "Interjection": 3}
    assert "WordRep" in done.stderr  # the table


def test_the_script_says_when_no_labelled_clip_is_there(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(f"{HEADER}\nFixture,0,1,0,1,0,0,0,1,0,3,0,3,0,0,0,0\n")
    done = subprocess.run(
        [sys.executable, "benchmarks/sep28k.py", "--labels", str(labels), "--clips", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 1
    assert "none of the 1 labelled clips" in done.stderr
