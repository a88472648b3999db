"""A client's progress: one fluency metric over their processed sessions, as data or a chart.

Each session's figure comes from its latest annotation version, so a clinician's review wins
over the automatic detection; a recording with no annotation falls back to its automatic
report. The chart is drawn with matplotlib's Agg canvas (no display, no global pyplot state),
and names no one: it is meant to be attached to reports and emails.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SessionTask
from db.repositories import clients
from db.repositories.recordings import Viewer
from serve_app.services.audit import Action, Auditor
from serve_app.services.clients import visible_client


class ProgressMetric(StrEnum):
    """The metrics a progress chart may follow: keys of ``FluencyMetrics.to_dict``."""

    percent_syllables_stuttered = "percent_syllables_stuttered"
    syllables_per_minute = "syllables_per_minute"
    disfluencies_per_minute = "disfluencies_per_minute"
    words_per_minute = "words_per_minute"
    sld_per_100_syllables = "sld_per_100_syllables"
    articulation_rate = "articulation_rate"


@dataclass(frozen=True, slots=True)
class Axis:
    label: str
    unit: str


AXES: dict[ProgressMetric, Axis] = {
    ProgressMetric.percent_syllables_stuttered: Axis("Percent syllables stuttered", "%SS"),
    ProgressMetric.syllables_per_minute: Axis("Speech rate", "syllables/min"),
    ProgressMetric.disfluencies_per_minute: Axis("Disfluencies", "per minute"),
    ProgressMetric.words_per_minute: Axis("Speech rate", "words/min"),
    ProgressMetric.sld_per_100_syllables: Axis("Stuttering-like disfluencies", "per 100 syllables"),
    ProgressMetric.articulation_rate: Axis("Articulation rate", "syllables/s of speech"),
}


@dataclass(frozen=True, slots=True)
class ProgressPoint:
    recording_id: uuid.UUID
    recorded_at: datetime
    value: float | None
    """None where the metric is undefined (syllables are not counted in every language)."""
    reviewed: bool
    task: str | None


@dataclass(frozen=True, slots=True)
class ClientProgress:
    metric: ProgressMetric
    points: tuple[ProgressPoint, ...]
    """Oldest session first."""

    @property
    def axis(self) -> Axis:
        return AXES[self.metric]


async def client_progress(
    session: AsyncSession,
    *,
    viewer: Viewer,
    auditor: Auditor,
    client_id: uuid.UUID,
    metric: ProgressMetric,
    task: SessionTask | None = None,
) -> ClientProgress:
    """``metric`` over the client's processed sessions (of one ``task`` if given); 404 unless
    ``viewer`` sees the client. Reading it is audited as a read of the client."""
    await visible_client(session, viewer=viewer, client_id=client_id)
    rows = await clients.progress(
        session,
        viewer=viewer,
        client_id=client_id,
        metric=metric.value,
        task=None if task is None else task.value,
    )
    await auditor.record_by(
        session,
        viewer,
        action=Action.client_read,
        target_type="client",
        target_id=client_id,
        details={"view": "progress", "metric": metric.value},
    )
    return ClientProgress(
        metric=metric,
        points=tuple(
            ProgressPoint(
                recording_id=row.recording_id,
                recorded_at=row.recorded_at,
                value=_number(row.value),
                reviewed=row.reviewed,
                task=row.task,
            )
            for row in rows
        ),
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def render_png(progress: ClientProgress) -> bytes:
    """The chart: one point per session, reviewed ones filled, automatic ones hollow."""
    # Imported here: matplotlib takes 1 s and 34 MB to import, which every ingress replica
    # paid at start for a chart that few requests draw.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    axis = progress.axis
    figure = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    drawn = [(p.recorded_at, p.value, p.reviewed) for p in progress.points if p.value is not None]
    if drawn:
        days = _days([at for at, _, _ in drawn])
        ax.plot(days, [v for _, v, _ in drawn], color="0.6", lw=1)
        if max(days) - min(days) < 2:  # one day's sessions: show the week around them
            ax.set_xlim(min(days) - 7, max(days) + 7)
        for reviewed, style in ((True, _REVIEWED), (False, _AUTOMATIC)):
            chosen = [(at, v) for at, v, r in drawn if r is reviewed]
            if chosen:
                x, y = _days([at for at, _ in chosen]), [v for _, v in chosen]
                ax.scatter(x, y, zorder=2, **style)
        ax.legend(loc="best")
        ax.set_ylim(bottom=0)
        locator = AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=UTC))  # type: ignore[no-untyped-call]
    else:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.text(0.5, 0.5, "No processed sessions yet", transform=ax.transAxes, ha="center")
    ax.set_title(f"{axis.label} by session")
    ax.set_xlabel("Session date (UTC)")
    ax.set_ylabel(f"{axis.label} ({axis.unit})")
    ax.grid(visible=True, axis="y", color="0.9")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _days(times: list[datetime]) -> list[float]:
    """Matplotlib's date numbers: days since 1970-01-01 UTC (its default epoch)."""
    return [(t - _EPOCH).total_seconds() / 86_400 for t in times]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_REVIEWED: dict[str, Any] = {
    "marker": "o",
    "s": 48,
    "color": "#1f5fa8",
    "label": "Reviewed by a clinician",
}
_AUTOMATIC: dict[str, Any] = {
    "marker": "D",
    "s": 40,
    "facecolors": "white",
    "edgecolors": "#1f5fa8",
    "label": "Automatic (not reviewed)",
}
