"""Review of a recording's annotation over HTTP: the automatic version written with the
transcript, a clinician's versions saved with If-Match, metrics recomputed from them, the
versions listed, and who may see any of it."""

from __future__ import annotations

import asyncio
import copy
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from db.repositories.audit import Action
from db.session import Sessions
from pipelines.types import Segment, Word
from tests.processed import (
    audit_rows,
    seed_pending,
    seed_processed,
    store_again,
)
from tests.support import Account, add_user, client_of, error_code, log_in, sign_up


class Clinic:
    """A clinic's admin, a member of the same clinic the recording is not assigned to, and the
    admin of another clinic."""

    def __init__(self, admin: Account, member: Account, outsider: Account) -> None:
        self.admin, self.member, self.outsider = admin, member, outsider


@pytest.fixture(scope="module")
async def clinic(client: httpx.AsyncClient, ingress: FastAPI) -> Clinic:
    admin = await sign_up(client)
    email = await add_user(client, admin)
    async with client_of(ingress) as elsewhere:  # logins are limited per address
        member = await log_in(elsewhere, email)
    return Clinic(admin, member, await sign_up(client))


@pytest.fixture
async def recording(sessions: Sessions, clinic: Clinic) -> uuid.UUID:
    return await seed_processed(sessions, clinic.admin)


def url(recording_id: uuid.UUID, tail: str = "/annotation") -> str:
    return f"/audio_recordings/{recording_id}{tail}"


async def read(
    client: httpx.AsyncClient, account: Account, recording_id: uuid.UUID
) -> httpx.Response:
    response = await client.get(url(recording_id), headers=account.auth)
    assert response.status_code == 200, response.text
    return response


async def put(
    client: httpx.AsyncClient,
    account: Account,
    recording_id: uuid.UUID,
    body: dict[str, Any],
    if_match: str | None,
) -> httpx.Response:
    headers = dict(account.auth)
    if if_match is not None:
        headers["If-Match"] = if_match
    return await client.put(url(recording_id), json=body, headers=headers)


def edit(annotation: dict[str, Any]) -> dict[str, Any]:
    """The annotation as a client would send it back."""
    return {"segments": copy.deepcopy(annotation["segments"]), "events": annotation["events"]}


def without_repetition(annotation: dict[str, Any]) -> dict[str, Any]:
    """The clinician's review: the repeated "I" was a deliberate "I, I", not a stutter."""
    body = edit(annotation)
    body["events"] = [e for e in body["events"] if e["type"] != "repetition"]
    return body


async def versions(
    client: httpx.AsyncClient, account: Account, recording_id: uuid.UUID
) -> list[int]:
    response = await client.get(url(recording_id, "/annotation/versions"), headers=account.auth)
    assert response.status_code == 200, response.text
    return [v["version"] for v in response.json()["items"]]


class TestReadAnnotation:
    async def test_without_a_token_is_401(
        self, client: httpx.AsyncClient, recording: uuid.UUID
    ) -> None:
        assert (await client.get(url(recording))).status_code == 401

    @pytest.mark.parametrize("who", ["outsider", "member"])
    async def test_another_clinic_or_an_unassigned_member_gets_404(
        self, client: httpx.AsyncClient, clinic: Clinic, recording: uuid.UUID, who: str
    ) -> None:
        account: Account = getattr(clinic, who)
        for tail in ("/annotation", "/annotation/versions"):
            response = await client.get(url(recording, tail), headers=account.auth)
            assert response.status_code == 404, tail
            assert error_code(response) == "not_found"

    async def test_before_processing_is_409(
        self, client: httpx.AsyncClient, sessions: Sessions, clinic: Clinic
    ) -> None:
        pending = await seed_pending(sessions, clinic.admin)
        response = await client.get(url(pending), headers=clinic.admin.auth)
        assert response.status_code == 409
        assert error_code(response) == "annotation_not_ready"

    async def test_version_1_is_the_automatic_analysis_with_an_etag(
        self, client: httpx.AsyncClient, clinic: Clinic, recording: uuid.UUID
    ) -> None:
        response = await read(client, clinic.admin, recording)
        assert response.headers["etag"] == f'"{recording}-v1"'
        body = response.json()
        assert (body["version"], body["reviewed_by"], body["reviewed_at"]) == (1, None, None)
        assert [w["word"] for s in body["segments"] for w in s["words"]] == (
            "I I want um to go home today".split()
        )
        assert [(e["type"], e["to_review"]) for e in body["events"]] == [
            ("repetition", False),
            ("interjection", False),
            ("block", False),
        ]
        # I(1) I(-) want um to go home today(2): 8 syllables; "I" and "home" stuttered.
        assert body["metrics"]["percent_syllables_stuttered"] == 25.0

    async def test_if_none_match_is_304_while_current(
        self, client: httpx.AsyncClient, sessions: Sessions, clinic: Clinic, recording: uuid.UUID
    ) -> None:
        tag = (await read(client, clinic.admin, recording)).headers["etag"]
        headers = {**clinic.admin.auth, "If-None-Match": tag}
        assert (await client.get(url(recording), headers=headers)).status_code == 304
        # The words were sent once: one entry, none for the 304.
        [entry] = await audit_rows(sessions, clinic.admin, Action.annotation_read, recording)
        assert (entry.target_type, entry.details) == ("recording", {"version": 1})


WORDLESS_STRETCH = (
    Segment.from_words(
        [Word("I", 0.0, 0.2), Word("want", 0.3, 0.6), Word("to", 0.7, 0.8), Word("go", 0.9, 1.1)]
    ),
    Segment.from_words([Word("home", 3.8, 4.2), Word("today.", 4.3, 4.8)]),
)
"""Speech with 1.5-3.5 s voiced and without words between its two sentences."""


class TestReviewAnnotation:
    async def test_a_review_is_the_next_version_with_metrics_recomputed(
        self, client: httpx.AsyncClient, sessions: Sessions, clinic: Clinic, recording: uuid.UUID
    ) -> None:
        first = await read(client, clinic.admin, recording)
        response = await put(
            client, clinic.admin, recording, without_repetition(first.json()), first.headers["etag"]
        )
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == f'"{recording}-v2"'
        body = response.json()
        assert body["version"] == 2
        assert body["reviewed_by"] == clinic.admin.user["id"]
        assert body["reviewed_at"] is not None
        # Both "I"s count now: 9 syllables, "home" alone stuttered.
        assert body["metrics"]["syllable_count"] == 9
        assert body["metrics"]["percent_syllables_stuttered"] == round(100 / 9, 2)
        assert body["metrics"]["counts_by_type"]["repetition"] == 0
        assert (await read(client, clinic.admin, recording)).json() == body
        assert await versions(client, clinic.admin, recording) == [2, 1]
        recording_body = (
            await client.get(f"/audio_recordings/{recording}", headers=clinic.admin.auth)
        ).json()
        assert recording_body["metrics"] == body["metrics"]
        assert recording_body["report"]["metrics"]["percent_syllables_stuttered"] == 25.0
        entries = await audit_rows(sessions, clinic.admin, Action.annotation_changed, recording)
        assert len(entries) == 1
        assert (entries[0].target_id, entries[0].actor_id) == (
            str(recording),
            uuid.UUID(clinic.admin.user["id"]),
        )
        assert entries[0].details == {
            "version": 2,
            "previous_version": 1,
            "events": 2,
            "to_review": 0,
            "words": 8,
        }

    async def test_events_added_relabelled_retimed_and_words_corrected(
        self, client: httpx.AsyncClient, clinic: Clinic, recording: uuid.UUID
    ) -> None:
        first = await read(client, clinic.admin, recording)
        body = edit(first.json())
        words = body["segments"][1]["words"]
        words[3]["word"] = "tomorrow"  # today(2) → tomorrow(3)
        interjection = next(e for e in body["events"] if e["type"] == "interjection")
        interjection.update(type="repetition", subtype="part_word", text="")  # relabelled
        block = next(e for e in body["events"] if e["type"] == "block")
        block.update(start=2.0)  # re-timed
        body["events"].append({"type": "prolongation", "start": 3.6, "end": 4.2})  # added
        response = await put(client, clinic.admin, recording, body, first.headers["etag"])
        assert response.status_code == 200, response.text
        saved = response.json()
        assert saved["segments"][1]["text"] == "to go home tomorrow"
        added = saved["events"][-1]
        assert (added["text"], added["stuttering_like"], added["evidence"]) == (
            "tomorrow",
            True,
            ["clinician"],
        )
        metrics = saved["metrics"]
        # I(1) I(-) want(1) um(1) to(1) go(1) home(1) tomorrow(3): 9 syllables; stuttered: "I",
        # "um" (now a part-word repetition), "home" (the block's), "tomorrow".
        assert metrics["syllable_count"] == 9
        assert metrics["stuttered_syllables"] == 4
        assert metrics["percent_syllables_stuttered"] == round(400 / 9, 2)
        assert metrics["counts_by_type"]["interjection"] == 0
        retimed = next(e for e in saved["events"] if e["type"] == "block")
        assert retimed["start"] == 2.0

    async def test_words_written_over_voiced_audio_without_words_take_it_out(
        self, client: httpx.AsyncClient, sessions: Sessions, clinic: Clinic
    ) -> None:
        """The automatic analysis lists 1.5-3.5 s as voiced and wordless; the clinician heard
        "came back later" there and wrote it: the notice goes and the words count."""
        recording = await seed_processed(
            sessions,
            clinic.admin,
            segments=WORDLESS_STRETCH,
            coverage={"unrecovered": [[1.5, 3.5]], "unrecovered_s": 2.0},
        )
        first = await read(client, clinic.admin, recording)
        assert first.json()["metrics"]["untranscribed"] == [[1.5, 3.5]]
        assert first.json()["metrics"]["untranscribed_notice"] is True
        body = edit(first.json())
        heard = Segment.from_words(
            [Word("came", 1.6, 2.0), Word("back", 2.1, 2.5), Word("later", 2.6, 3.2)]
        )
        body["segments"].insert(1, heard.to_dict())
        response = await put(client, clinic.admin, recording, body, first.headers["etag"])
        assert response.status_code == 200, response.text
        metrics = response.json()["metrics"]
        assert metrics["untranscribed"] == [] and metrics["untranscribed_notice"] is False
        assert metrics["word_count"] == 9

    async def test_the_transcript_carries_the_reviewed_words(
        self, client: httpx.AsyncClient, clinic: Clinic, recording: uuid.UUID
    ) -> None:
        """Exports and the recording's ``transcript`` follow the review, as its metrics do."""
        machine = (
            await client.get(url(recording, "/transcript"), headers=clinic.admin.auth)
        ).json()
        assert "reviewed_version" not in machine
        first = await read(client, clinic.admin, recording)
        body = edit(first.json())
        body["segments"][1]["words"][3]["word"] = "tomorrow"
        saved = await put(client, clinic.admin, recording, body, first.headers["etag"])
        assert saved.status_code == 200, saved.text
        reviewed = (
            await client.get(url(recording, "/transcript"), headers=clinic.admin.auth)
        ).json()
        assert reviewed["reviewed_version"] == 2
        assert reviewed["text"].endswith("to go home tomorrow")
        assert reviewed["segments"] == saved.json()["segments"]
        assert (reviewed["backend"], reviewed["model"]) == (machine["backend"], machine["model"])
        srt = await client.get(
            url(recording, "/transcript"), params={"format": "srt"}, headers=clinic.admin.auth
        )
        assert "tomorrow" in srt.text
        detail = (await client.get(url(recording, ""), headers=clinic.admin.auth)).json()
        assert detail["transcript"] == reviewed

    async def test_a_review_that_changes_nothing_moves_no_subtitle(
        self, client: httpx.AsyncClient, sessions: Sessions, clinic: Clinic
    ) -> None:
        """Whisper's segment starts before its first word (0.0 against 0.32 s on JFK); saved
        back unchanged, the segment keeps its span and the SRT its cue times."""
        words = (Word("And", 0.32, 0.5), Word("so", 0.5, 0.8), Word("my", 0.9, 1.1))
        segments = [Segment(0.0, 1.6, "And so my", words)]
        recording = await seed_processed(sessions, clinic.admin, segments=segments)
        srt = {"format": "srt"}
        before = await client.get(
            url(recording, "/transcript"), params=srt, headers=clinic.admin.auth
        )
        first = await read(client, clinic.admin, recording)
        saved = await put(
            client, clinic.admin, recording, edit(first.json()), first.headers["etag"]
        )
        assert saved.status_code == 200, saved.text
        assert saved.json()["segments"] == first.json()["segments"]
        after = await client.get(
            url(recording, "/transcript"), params=srt, headers=clinic.admin.auth
        )
        assert "00:00:00,000 --> 00:00:01,600" in before.text
        assert after.text == before.text

    async def test_the_automatic_version_is_kept(
        self, client: httpx.AsyncClient, clinic: Clinic, recording: uuid.UUID
    ) -> None:
        first = await read(client, clinic.admin, recording)
        tag = first.headers["etag"]
        second = await put(client, clinic.admin, recording, without_repetition(first.json()), tag)
        third = await put(
            client, clinic.admin, recording, edit(first.json()), second.headers["etag"]
        )
        assert third.status_code == 200
        assert third.json()["metrics"]["percent_syllables_stuttered"] == 25.0
        listed = (
            await client.get(url(recording, "/annotation/versions"), headers=clinic.admin.auth)
        ).json()["items"]
        assert [(v["version"], v["event_count"]) for v in listed] == [(3, 3), (2, 2), (1, 3)]
        assert listed[2]["reviewed_by"] is None
        assert listed[1]["percent_syllables_stuttered"] == round(100 / 9, 2)

    async def test_without_if_match_is_428_and_nothing_changes(
        self, client: httpx.AsyncClient, clinic: Clinic, recording: uuid.UUID
    ) -> None:
        body = without_repetition((await read(client, clinic.admin, recording)).json())
        response = await put(client, clinic.admin, recording, body, None)
        assert response.status_code == 428
        assert error_code(response) == "precondition_required"
        assert await versions(client, clinic.admin, recording) == [1]

    @pytest.mark.parametrize(
        ("if_match", "status", "saved"),
        [("read", 412, [2, 1]), ("*", 200, [3, 2, 1])],
        ids=["stale", "star"],
    )
    async def test_a_stale_if_match_is_412_and_nothing_changes_while_star_saves(
        self,
        client: httpx.AsyncClient,
        clinic: Clinic,
        recording: uuid.UUID,
        if_match: str,
        status: int,
        saved: list[int],
    ) -> None:
        """A save with the tag of a version since replaced is refused; ``*`` (RFC 9110: any
        current version) is a client's explicit choice to save over whichever is current."""
        first = await read(client, clinic.admin, recording)
        tag = first.headers["etag"]
        body = without_repetition(first.json())
        assert (await put(client, clinic.admin, recording, body, tag)).status_code == 200
        again = await put(
            client, clinic.admin, recording, edit(first.json()), tag if if_match == "read" else "*"
        )
        assert again.status_code == status
        if status == 412:
            assert error_code(again) == "precondition_failed"
        assert await versions(client, clinic.admin, recording) == saved

    async def test_two_editors_with_the_same_version_one_saves_the_other_gets_412(
        self, client: httpx.AsyncClient, clinic: Clinic, recording: uuid.UUID
    ) -> None:
        first = await read(client, clinic.admin, recording)
        tag = first.headers["etag"]
        results = await asyncio.gather(
            put(client, clinic.admin, recording, without_repetition(first.json()), tag),
            put(client, clinic.admin, recording, edit(first.json()), tag),
        )
        assert sorted(r.status_code for r in results) == [200, 412]
        assert await versions(client, clinic.admin, recording) == [2, 1]

    @pytest.mark.parametrize("who", ["outsider", "member"])
    async def test_another_clinic_or_an_unassigned_member_gets_404(
        self, client: httpx.AsyncClient, clinic: Clinic, recording: uuid.UUID, who: str
    ) -> None:
        first = await read(client, clinic.admin, recording)
        account: Account = getattr(clinic, who)
        body = without_repetition(first.json())
        response = await put(client, account, recording, body, first.headers["etag"])
        assert response.status_code == 404
        assert await versions(client, clinic.admin, recording) == [1]

    async def test_before_processing_is_409(
        self, client: httpx.AsyncClient, sessions: Sessions, clinic: Clinic
    ) -> None:
        pending = await seed_pending(sessions, clinic.admin)
        body: dict[str, Any] = {"segments": [], "events": []}
        response = await put(client, clinic.admin, pending, body, f'"{pending}-v1"')
        assert response.status_code == 409
        assert error_code(response) == "annotation_not_ready"


def _event(annotation: dict[str, Any], kind: str) -> dict[str, Any]:
    event: dict[str, Any] = next(e for e in annotation["events"] if e["type"] == kind)
    return event


def _unknown_type(a: dict[str, Any]) -> None:
    _event(a, "block")["type"] = "stammer"


def _negative(a: dict[str, Any]) -> None:
    _event(a, "interjection")["start"] = -0.5


def _backwards(a: dict[str, Any]) -> None:
    _event(a, "block").update(start=3.0, end=1.8)


def _past_the_end(a: dict[str, Any]) -> None:
    a["events"].append({"type": "prolongation", "start": 4.5, "end": 6.5})


def _overlapping(a: dict[str, Any]) -> None:
    a["events"].append({"type": "block", "start": 2.5, "end": 3.2})


def _no_subtype(a: dict[str, Any]) -> None:
    _event(a, "repetition")["subtype"] = None


def _word_backwards(a: dict[str, Any]) -> None:
    a["segments"][0]["words"][2].update(start=0.9, end=0.6)


def _word_past_the_end(a: dict[str, Any]) -> None:
    a["segments"][1]["words"][3].update(end=9.0)


def _word_negative(a: dict[str, Any]) -> None:
    a["segments"][0]["words"][0]["start"] = -1


def _words_swapped(a: dict[str, Any]) -> None:
    words = a["segments"][0]["words"]
    words[0], words[2] = words[2], words[0]


def _word_over_the_next(a: dict[str, Any]) -> None:
    words = a["segments"][0]["words"]
    words[1]["end"] = a["segments"][1]["words"][0]["end"]


def _nul_in_a_word(a: dict[str, Any]) -> None:
    a["segments"][0]["words"][0]["word"] = "I\u0000"


def _nul_in_an_event(a: dict[str, Any]) -> None:
    _event(a, "block")["text"] = "\u0000"


def _not_a_number(a: dict[str, Any]) -> None:
    _event(a, "block")["end"] = "soon"


class TestInvalidReview:
    @pytest.mark.parametrize(
        ("spoil", "code"),
        [
            (_unknown_type, "validation_error"),
            (_not_a_number, "validation_error"),
            (_nul_in_a_word, "validation_error"),
            (_nul_in_an_event, "validation_error"),
            (_negative, "invalid_annotation"),
            (_backwards, "invalid_annotation"),
            (_past_the_end, "invalid_annotation"),
            (_overlapping, "invalid_annotation"),
            (_no_subtype, "invalid_annotation"),
            (_word_backwards, "invalid_annotation"),
            (_word_past_the_end, "invalid_annotation"),
            (_word_negative, "invalid_annotation"),
            (_words_swapped, "invalid_annotation"),
            (_word_over_the_next, "invalid_annotation"),
        ],
        ids=lambda p: getattr(p, "__name__", p),
    )
    async def test_bad_input_is_422_and_nothing_changes(
        self,
        client: httpx.AsyncClient,
        sessions: Sessions,
        clinic: Clinic,
        recording: uuid.UUID,
        spoil: Any,
        code: str,
    ) -> None:
        first = await read(client, clinic.admin, recording)
        body = edit(first.json())
        spoil(body)
        response = await put(client, clinic.admin, recording, body, first.headers["etag"])
        assert response.status_code == 422, response.text
        assert error_code(response) == code
        assert response.json()["error"]["message"]
        assert await versions(client, clinic.admin, recording) == [1]
        assert await audit_rows(sessions, clinic.admin, Action.annotation_changed, recording) == []


class TestVersions:
    async def test_pages_newest_first(
        self, client: httpx.AsyncClient, clinic: Clinic, recording: uuid.UUID
    ) -> None:
        first = await read(client, clinic.admin, recording)
        body = without_repetition(first.json())
        assert (
            await put(client, clinic.admin, recording, body, first.headers["etag"])
        ).status_code == 200
        page = await client.get(
            url(recording, "/annotation/versions"), params={"limit": 1}, headers=clinic.admin.auth
        )
        assert [v["version"] for v in page.json()["items"]] == [2]
        cursor = page.json()["next_cursor"]
        assert cursor
        rest = await client.get(
            url(recording, "/annotation/versions"),
            params={"limit": 1, "cursor": cursor},
            headers=clinic.admin.auth,
        )
        assert [v["version"] for v in rest.json()["items"]] == [1]
        assert rest.json()["next_cursor"] is None

    async def test_a_cursor_not_made_here_is_400(
        self, client: httpx.AsyncClient, clinic: Clinic, recording: uuid.UUID
    ) -> None:
        response = await client.get(
            url(recording, "/annotation/versions"),
            params={"cursor": "v-one"},
            headers=clinic.admin.auth,
        )
        assert response.status_code == 400
        assert error_code(response) == "invalid_cursor"


class TestProcessingAgain:
    async def test_a_rerun_rewrites_version_1_and_the_automatic_report_and_keeps_reviews(
        self, client: httpx.AsyncClient, sessions: Sessions, clinic: Clinic, recording: uuid.UUID
    ) -> None:
        first = await read(client, clinic.admin, recording)
        body = without_repetition(first.json())
        assert (
            await put(client, clinic.admin, recording, body, first.headers["etag"])
        ).status_code == 200
        words = [Word("We", 0.0, 0.3), Word("went", 0.4, 0.8), Word("home.", 0.9, 1.3)]
        await store_again(sessions, clinic.admin, recording, [Segment.from_words(words)])
        rewritten = await client.get(
            url(recording, "/annotation/versions"), headers=clinic.admin.auth
        )
        assert [(v["version"], v["event_count"]) for v in rewritten.json()["items"]] == [
            (2, 2),
            (1, 0),
        ]
        listed = await client.get(
            f"/audio_recordings/{recording}/reports", headers=clinic.admin.auth
        )
        assert [r["automatic"] for r in listed.json()["items"]] == [True]
        latest = await client.get(
            f"/audio_recordings/{recording}/report", headers=clinic.admin.auth
        )
        assert latest.json()["metrics"]["word_count"] == 3
