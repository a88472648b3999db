"""A client's progress: the figures of their processed sessions, reviewed ones preferred, as JSON
and as a PNG chart. Sessions are seeded as rows (app role, tenant set): what is tested is which
figure each session contributes, not transcription."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from PIL import Image

from serve_app.services.progress import (
    ClientProgress,
    ProgressMetric,
    ProgressPoint,
    render_png,
)
from tests.support import Account, add_user, error_code, log_in, sign_up

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
METRICS = [m.value for m in ProgressMetric]
SYLLABLE_METRICS = {
    "percent_syllables_stuttered",
    "syllables_per_minute",
    "sld_per_100_syllables",
    "articulation_rate",
}
"""Undefined (null) for a language whose syllables are not counted."""


@pytest.fixture
def http(visitor: httpx.AsyncClient) -> httpx.AsyncClient:
    return visitor


def _metrics(seed: float, **overrides: Any) -> dict[str, Any]:
    """A metrics dict with every followed metric distinct: ``seed * (position + 1)``."""
    values: dict[str, Any] = {name: round(seed * (i + 1), 2) for i, name in enumerate(METRICS)}
    return {"language": "en", "word_count": 30, "disfluencies": [], **values, **overrides}


class Seeder:
    """Writes sessions as the app would: the app role with the tenant set."""

    def __init__(self, conninfo: str, owner: Account) -> None:
        self.conninfo = conninfo
        self.owner = owner
        self.tenant_id = owner.user["tenant_id"]

    def _conn(self) -> psycopg.Connection:
        conn = psycopg.connect(self.conninfo)
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (self.tenant_id,))
        return conn

    def session(
        self,
        client_id: str,
        recorded_at: datetime,
        *,
        status: str = "processed",
        task: str = "conversation",
        annotations: tuple[dict[str, Any], ...] = (),
        report: dict[str, Any] | None = None,
    ) -> str:
        """A recording; ``annotations`` are versions 1, 2, ... (2 and later reviewed)."""
        recording_id = uuid.uuid4()
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO audio_recordings (id, tenant_id, user_id, storage_key, sha256, "
                "size_bytes, language, report_type, report_language, status, chunks_done, "
                "chunks_total, client_id, recorded_at, task) VALUES (%s, %s, %s, %s, %s, 1, "
                "'en', 'fluency_analysis', 'en', %s, 1, 1, %s, %s, %s)",
                (
                    recording_id,
                    self.tenant_id,
                    self.owner.user["id"],
                    f"{self.tenant_id}/{recording_id}",
                    uuid.uuid4().hex,
                    status,
                    client_id,
                    recorded_at,
                    task,
                ),
            )
            if report is not None:
                self._report(conn, recording_id, report, automatic=True)
            for version, metrics in enumerate(annotations, start=1):
                reviewed = version > 1
                conn.execute(
                    "INSERT INTO annotations (tenant_id, recording_id, version, segments, "
                    "events, metrics, reviewed_by, reviewed_at) VALUES (%s, %s, %s, '[]', '[]', "
                    "%s, %s, CASE WHEN %s THEN now() END)",
                    (
                        self.tenant_id,
                        recording_id,
                        version,
                        json.dumps(metrics),
                        self.owner.user["id"] if reviewed else None,
                        reviewed,
                    ),
                )
        return str(recording_id)

    def extra_report(self, recording_id: str, metrics: dict[str, Any]) -> None:
        """A report requested later (not the automatic one)."""
        with self._conn() as conn:
            self._report(conn, uuid.UUID(recording_id), metrics, automatic=False)

    def _report(
        self,
        conn: psycopg.Connection,
        recording_id: uuid.UUID,
        metrics: dict[str, Any],
        *,
        automatic: bool,
    ) -> None:
        conn.execute(
            "INSERT INTO reports (tenant_id, recording_id, type, language, generator, metrics, "
            "content_markdown, automatic, status, created_at) VALUES (%s, %s, "
            "'fluency_analysis', 'en', 'template', %s, '#', %s, 'ready', "
            "now() + make_interval(secs => %s))",
            (self.tenant_id, recording_id, json.dumps(metrics), automatic, 0 if automatic else 5),
        )


async def _new_client(http: httpx.AsyncClient, account: Account) -> str:
    response = await http.post("/clients", headers=account.auth, json={"display_name": "P"})
    assert response.status_code == 201, response.text
    client_id: str = response.json()["id"]
    return client_id


def _at(month: int, year: int = 2026) -> datetime:
    return datetime(year, month, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
async def seeded(http: httpx.AsyncClient, app_conninfo: str) -> dict[str, Any]:
    """A client with sessions of every kind, and what each should contribute."""
    admin = await sign_up(http)
    seed = Seeder(app_conninfo, admin)
    client_id = await _new_client(http, admin)
    other_client = await _new_client(http, admin)
    report_only = seed.session(client_id, _at(1), report=_metrics(1.5))
    seed.extra_report(report_only, _metrics(8.0))  # newer, but not the automatic report
    automatic = seed.session(client_id, _at(2), annotations=(_metrics(2.0),), report=_metrics(9.0))
    reviewed = seed.session(
        client_id, _at(3), annotations=(_metrics(3.0), _metrics(2.5)), report=_metrics(3.0)
    )
    seed.session(client_id, _at(4), status="processing", annotations=(_metrics(7.0),))
    seed.session(client_id, _at(4), status="failed")
    no_syllables = seed.session(
        client_id, _at(5), annotations=(_metrics(4.0, **dict.fromkeys(SYLLABLE_METRICS)),)
    )
    earliest = seed.session(client_id, _at(12, 2025), task="reading", annotations=(_metrics(1.0),))
    seed.session(other_client, _at(2), annotations=(_metrics(6.0),))
    return {
        "admin": admin,
        "client_id": client_id,
        "no_syllables": no_syllables,
        # (recording, seed of the figure it contributes, reviewed)
        "expected": [
            (earliest, 1.0, False),
            (report_only, 1.5, False),
            (automatic, 2.0, False),
            (reviewed, 2.5, True),
            (no_syllables, 4.0, False),
        ],
    }


class TestProgress:
    async def test_every_metric_equals_the_seeded_figures(
        self, http: httpx.AsyncClient, seeded: dict[str, Any]
    ) -> None:
        admin, client_id = seeded["admin"], seeded["client_id"]
        for position, metric in enumerate(METRICS):
            response = await http.get(
                f"/clients/{client_id}/progress?metric={metric}", headers=admin.auth
            )
            assert response.status_code == 200, response.text
            assert response.headers["cache-control"] == "private, no-store"
            body = response.json()
            assert body["metric"] == metric
            assert body["unit"]
            got = [(p["recording_id"], p["value"], p["reviewed"]) for p in body["points"]]
            undefined = seeded["no_syllables"] if metric in SYLLABLE_METRICS else None
            want = [
                (rec, None if rec == undefined else round(s * (position + 1), 2), reviewed)
                for rec, s, reviewed in seeded["expected"]
            ]
            assert got == want, metric

    async def test_points_are_ordered_by_when_the_session_took_place(
        self, http: httpx.AsyncClient, seeded: dict[str, Any]
    ) -> None:
        admin, client_id = seeded["admin"], seeded["client_id"]
        body = (await http.get(f"/clients/{client_id}/progress", headers=admin.auth)).json()
        assert body["metric"] == "percent_syllables_stuttered"
        times = [datetime.fromisoformat(p["recorded_at"]) for p in body["points"]]
        assert times == [_at(12, 2025), _at(1), _at(2), _at(3), _at(5)]
        assert [p["task"] for p in body["points"]][:2] == ["reading", "conversation"]

    async def test_a_task_filter_keeps_like_with_like(
        self, http: httpx.AsyncClient, seeded: dict[str, Any]
    ) -> None:
        admin, client_id = seeded["admin"], seeded["client_id"]
        body = (
            await http.get(f"/clients/{client_id}/progress?task=reading", headers=admin.auth)
        ).json()
        assert [p["recording_id"] for p in body["points"]] == [seeded["expected"][0][0]]

    @pytest.mark.parametrize(
        "query", ["metric=wpm", "metric=", "format=svg", "task=singing", "metric=duration_s"]
    )
    async def test_bad_parameters_answer_422(
        self, http: httpx.AsyncClient, seeded: dict[str, Any], query: str
    ) -> None:
        admin, client_id = seeded["admin"], seeded["client_id"]
        response = await http.get(f"/clients/{client_id}/progress?{query}", headers=admin.auth)
        assert response.status_code == 422, response.text
        assert error_code(response) == "validation_error"

    async def test_a_client_without_sessions_has_no_points(self, http: httpx.AsyncClient) -> None:
        admin = await sign_up(http)
        client_id = await _new_client(http, admin)
        body = (await http.get(f"/clients/{client_id}/progress", headers=admin.auth)).json()
        assert body == {"metric": "percent_syllables_stuttered", "unit": "%SS", "points": []}

    async def test_an_assigned_member_sees_progress_of_others_sessions(
        self, http: httpx.AsyncClient, seeded: dict[str, Any]
    ) -> None:
        admin, client_id = seeded["admin"], seeded["client_id"]
        member = await log_in(http, await add_user(http, admin))
        path = f"/clients/{client_id}/progress"
        assert (await http.get(path, headers=member.auth)).status_code == 404
        assign = await http.post(
            f"/clients/{client_id}/assignments",
            headers=admin.auth,
            json={"user_id": member.user["id"]},
        )
        assert assign.status_code == 201
        body = (await http.get(path, headers=member.auth)).json()
        assert [p["recording_id"] for p in body["points"]] == [r for r, _, _ in seeded["expected"]]

    async def test_reading_progress_is_audited(
        self, http: httpx.AsyncClient, seeded: dict[str, Any], app_conninfo: str
    ) -> None:
        admin, client_id = seeded["admin"], seeded["client_id"]
        await http.get(f"/clients/{client_id}/progress?metric=words_per_minute", headers=admin.auth)
        with psycopg.connect(app_conninfo) as conn:
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (admin.user["tenant_id"],))
            rows = conn.execute(
                "SELECT actor_id::text, details FROM audit_events WHERE action = 'client_read' "
                "AND target_id = %s",
                (client_id,),
            ).fetchall()
        assert rows == [(admin.user["id"], {"view": "progress", "metric": "words_per_minute"})]


class TestChart:
    async def test_the_chart_is_a_png(
        self, http: httpx.AsyncClient, seeded: dict[str, Any]
    ) -> None:
        admin, client_id = seeded["admin"], seeded["client_id"]
        response = await http.get(
            f"/clients/{client_id}/progress?format=png&metric=syllables_per_minute",
            headers=admin.auth,
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        assert response.content.startswith(PNG_SIGNATURE)
        image = Image.open(io.BytesIO(response.content))
        image.load()
        assert (image.format, image.size) == ("PNG", (800, 450))

    async def test_a_chart_without_sessions_is_still_a_png(self, http: httpx.AsyncClient) -> None:
        admin = await sign_up(http)
        client_id = await _new_client(http, admin)
        response = await http.get(f"/clients/{client_id}/progress?format=png", headers=admin.auth)
        assert response.status_code == 200
        Image.open(io.BytesIO(response.content)).load()

    def test_reviewed_points_are_drawn_filled_and_automatic_ones_hollow(self) -> None:
        points = tuple(
            ProgressPoint(
                recording_id=uuid.uuid4(),
                recorded_at=_at(month),
                value=float(10 - month),
                reviewed=True,
                task=None,
            )
            for month in range(1, 7)
        )
        reviewed = ClientProgress(ProgressMetric.percent_syllables_stuttered, points)
        automatic = replace(reviewed, points=tuple(replace(p, reviewed=False) for p in points))
        marker = (0x1F, 0x5F, 0xA8)

        def marker_pixels(png: bytes) -> int:
            image = Image.open(io.BytesIO(png)).convert("RGB")
            return sum(1 for pixel in image.get_flattened_data() if pixel == marker)

        filled, hollow = marker_pixels(render_png(reviewed)), marker_pixels(render_png(automatic))
        assert hollow > 0
        assert filled > 2 * hollow
