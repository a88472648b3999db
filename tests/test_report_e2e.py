"""The fluency report through the whole platform, on speech whose events are known."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import (
    FIXTURES,
    SHARED_AUDIO,
    assert_phrase_pauses_listed_not_counted,
    assert_rate_matches_word_times,
    signup,
    upload,
    wait_processed,
)


async def processed(api: httpx.AsyncClient, path: Path) -> dict[str, Any]:
    headers = await signup(api)
    response = await upload(api, headers, path)
    assert response.status_code == 202, response.text
    body = await wait_processed(api, headers, response.json()["recording_id"])
    assert body["status"] == "processed", body
    fetched = await api.get(
        f"/audio_recordings/{body['id']}/report", params={"format": "json"}, headers=headers
    )
    assert fetched.status_code == 200
    assert fetched.json() == body["report"]
    markdown = await api.get(
        f"/audio_recordings/{body['id']}/report", params={"format": "md"}, headers=headers
    )
    assert markdown.text == body["report"]["content_markdown"]
    return body


def words_of(transcript: dict[str, Any]) -> list[dict[str, Any]]:
    return [w for s in transcript["segments"] for w in s["words"]]


class TestDisfluentSpeech:
    async def test_known_events_are_found_and_the_numbers_add_up(
        self, api: httpx.AsyncClient
    ) -> None:
        """espeak-ng reads "so um, I wanted to to tell you about [2 s silence] uh, my my
        weekend"; the local model transcribes it through the platform."""
        truth = json.loads((FIXTURES / "disfluent_block.json").read_text())
        body = await processed(api, FIXTURES / "disfluent_block.wav")
        report, duration = body["report"], body["duration_s"]
        metrics = report["metrics"]
        events = metrics["disfluencies"]
        assert report["generator"] == "template"

        interjections = [e for e in events if e["type"] == "interjection"]
        assert len(interjections) >= 2, events
        assert all(0 <= e["start"] <= e["end"] <= duration for e in events)
        blocks = [e for e in events if e["type"] == "block"]
        assert len(blocks) == 1, events
        assert abs(blocks[0]["start"] - truth["gap_start_s"]) <= 0.3
        assert abs(blocks[0]["end"] - truth["gap_end_s"]) <= 0.3

        assert metrics["disfluency_count"] == len(events)
        assert sum(metrics["counts_by_type"].values()) == len(events)
        for kind, count in metrics["counts_by_type"].items():
            assert count == sum(1 for e in events if e["type"] == kind)
        sld = [e for e in events if e["stuttering_like"]]
        assert metrics["stuttering_like_disfluencies"] == len(sld)
        assert metrics["other_disfluencies"] == len(events) - len(sld)

        words = words_of(body["transcript"])
        span = words[-1]["end"] - words[0]["start"]
        assert metrics["word_count"] == len(words)
        assert abs(metrics["words_per_minute"] - len(words) / span * 60) <= 0.01
        assert abs(metrics["syllables_per_minute"] - metrics["syllable_count"] / span * 60) <= 0.01
        assert (
            abs(
                metrics["percent_syllables_stuttered"]
                - 100 * metrics["stuttered_syllables"] / metrics["syllable_count"]
            )
            <= 0.01
        )
        assert abs(metrics["disfluencies_per_minute"] - len(events) / span * 60) <= 0.01

        table = report["content_markdown"]
        assert (
            f"| Percent syllables stuttered (%SS) | {metrics['percent_syllables_stuttered']:.1f}%"
            in table
        )
        assert f"| Words | {metrics['word_count']} |" in table
        assert f"| Blocks | {metrics['counts_by_type']['block']} |" in table


@pytest.fixture(scope="module")
async def jfk(api: httpx.AsyncClient) -> dict[str, Any]:
    """``jfk.flac`` processed once for the tests that read it."""
    return await processed(api, SHARED_AUDIO / "jfk.flac")


class TestRealSpeech:
    """Through Serve, natively; ``test_paced_speech`` checks the same on the platform's path
    in-process, where ``make test`` also runs it under another instruction set."""

    async def test_jfk_speaking_rate_matches_its_word_timestamps(self, jfk: dict[str, Any]) -> None:
        assert_rate_matches_word_times(words_of(jfk["transcript"]), jfk["report"]["metrics"])

    async def test_jfk_pausing_between_phrases_is_not_counted_as_blocks(
        self, jfk: dict[str, Any]
    ) -> None:
        assert_phrase_pauses_listed_not_counted(
            words_of(jfk["transcript"]), jfk["report"]["metrics"]
        )
