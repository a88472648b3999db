"""The report as Markdown: a metrics table and disfluency list built from ``FluencyMetrics``
only, then the narrative, every piece of untrusted text escaped onto one literal line."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipelines.metrics import DISFLUENCY_TYPES, DisfluencyEvent, FluencyMetrics
from pipelines.report.narrative import Narrative
from pipelines.report.number_format import number, percent, seconds_value, threshold
from pipelines.report.options import ReportLanguage, ReportType
from pipelines.report.template import template_narrative
from pipelines.report.texts import Texts, texts
from pipelines.types import Span


def render_markdown(
    *,
    metrics: FluencyMetrics,
    narrative: Narrative | None,
    report_type: ReportType,
    language: ReportLanguage,
    channels_apart: bool = False,
) -> str:
    """The report as Markdown; ``narrative=None`` uses the template narrative.
    ``channels_apart``: the recording's two channels carried different sounds and were mixed
    (the transcript's ``coverage.channels_apart``, ``pipelines.audio.ChannelsHeard``)."""
    t = texts(language)
    if narrative is None:
        narrative = template_narrative(metrics, report_type, language)
    lines = [
        f"# {t['title']}: {t['type.' + report_type]}",
        "",
        f"## {t['heading.metrics']}",
        "",
        f"| {t['table.measure']} | {t['table.value']} |",
        "| --- | ---: |",
    ]
    lines += [f"| {label} | {value} |" for label, value in _metrics_rows(metrics, language)]
    if channels_apart:
        lines += ["", f"## {t['heading.channels']}", "", t["notice.channels"]]
    if metrics.untranscribed_notice:
        lines += [
            "",
            f"## {t['heading.untranscribed']}",
            "",
            _untranscribed_notice(metrics, t, language),
            "",
        ]
        lines += _stretches(metrics.untranscribed, language)
    if metrics.unclear:
        seconds = number(metrics.unclear_s, language, 1)
        lines += ["", f"## {t['heading.unclear']}", "", t["notice.unclear"].format(seconds=seconds)]
        lines += ["", *_stretches(metrics.unclear, language)]
    lines += ["", f"## {t['heading.disfluencies']}", ""]
    lines += [_event_line(e, t, language) for e in metrics.disfluencies] or [t["none"]]
    if metrics.to_review:
        lines += ["", f"## {t['heading.to_review']}", ""]
        lines += [_event_line(e, t, language, with_confidence=True) for e in metrics.to_review]
    lines += ["", f"## {t['heading.summary']}", "", _inline(narrative.summary)]
    for heading, items in (
        ("heading.observations", narrative.observations),
        ("heading.recommendations", narrative.recommendations),
    ):
        lines += ["", f"## {t[heading]}", ""]
        lines += [f"- {_inline(item)}" for item in items] or ["—"]
    lines += ["", "---", "", f"*{t['disclaimer']}*", ""]
    return "\n".join(lines)


def _metrics_rows(metrics: FluencyMetrics, language: ReportLanguage) -> list[tuple[str, str]]:
    """The metrics table as (label, value) pairs, every value taken from ``metrics``."""
    t = texts(language)
    settings = metrics.settings
    rows = [
        ("duration_s", seconds_value(metrics.duration_s, language)),
        ("speaking_span_s", seconds_value(metrics.speaking_span_s, language)),
        ("speech_time_s", seconds_value(metrics.speech_time_s, language)),
        ("word_count", number(metrics.word_count, language)),
        ("syllable_count", number(metrics.syllable_count, language)),
        ("words_per_minute", number(metrics.words_per_minute, language, 1)),
        ("syllables_per_minute", number(metrics.syllables_per_minute, language, 1)),
        ("articulation_rate", number(metrics.articulation_rate, language, 2)),
        ("pause_count", number(metrics.pause_count, language)),
        ("mean_pause_s", seconds_value(metrics.mean_pause_s, language, 2)),
        ("long_pause_count", number(metrics.long_pause_count, language)),
        ("disfluency_count", number(metrics.disfluency_count, language)),
        ("disfluencies_per_minute", number(metrics.disfluencies_per_minute, language, 1)),
        ("stuttering_like_disfluencies", number(metrics.stuttering_like_disfluencies, language)),
        ("other_disfluencies", number(metrics.other_disfluencies, language)),
        ("sld_per_100_syllables", number(metrics.sld_per_100_syllables, language, 1)),
        ("percent_syllables_stuttered", percent(metrics.percent_syllables_stuttered, language)),
        ("to_review_count", number(len(metrics.to_review), language)),
        ("untranscribed_s", seconds_value(metrics.untranscribed_s, language)),
    ]
    thresholds = {
        "pause_count": settings.pause_min_s,
        "long_pause_count": settings.long_pause_s,
    }
    labelled = [
        (t["label." + key].format(seconds=threshold(thresholds.get(key, 0.0), language)), value)
        for key, value in rows
    ]
    labelled += [
        (_capitalised(t["kinds." + kind]), number(metrics.counts_by_type.get(kind, 0), language))
        for kind in DISFLUENCY_TYPES
    ]
    return labelled


def _stretches(spans: Sequence[Span], language: ReportLanguage) -> list[str]:
    return [
        f"- {_timestamp(start)}–{_timestamp(end)} ({seconds_value(end - start, language)})"
        for start, end in spans
    ]


def _untranscribed_notice(metrics: FluencyMetrics, t: Texts, language: ReportLanguage) -> str:
    return t["notice.untranscribed"].format(
        seconds=number(metrics.untranscribed_s, language, 1),
        share=percent(100.0 * metrics.untranscribed_share, language, 0),
    )


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _event_line(
    event: DisfluencyEvent, t: Texts, language: ReportLanguage, *, with_confidence: bool = False
) -> str:
    details = [t["subtype." + event.subtype]] if event.subtype else []
    if event.stuttering_like:
        details.append(t["stuttering_like"])
    if with_confidence:
        details.append(f"{t['confidence']} {percent(100.0 * event.confidence, language, 0)}")
    kind = _capitalised(t["kind." + event.type])
    if details:
        kind += f" ({', '.join(details)})"
    span = f"{_timestamp(event.start)}–{_timestamp(event.end)}"
    return f"- {span} · {kind}: “{_inline(event.text)}”"


def _timestamp(seconds: float) -> str:
    """mm:ss.s, rounded to the tenth without ever showing 60.0 seconds."""
    tenths = round(max(seconds, 0.0) * 10)
    minutes, rest = divmod(tenths, 600)
    return f"{minutes:02d}:{rest // 10:02d}.{rest % 10}"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#&])")


def _inline(text: str) -> str:
    """Untrusted text as one line of literal Markdown: no structure, links, HTML or emphasis."""
    text = " ".join(text.split())
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = re.sub(r"^(\d+)([.)])", r"\1\\\2", text)
    return re.sub(r"^([-+=])", r"\\\1", text)
