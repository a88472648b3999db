"""Writes a recording's report: deterministic metrics plus a narrative from the first LLM that
answers usefully, or from the template when none does.

Plain Python (no Ray import) so it can be unit-tested; the Serve app builder wraps it in a
deployment and injects the chat clients.
"""

from __future__ import annotations

from collections.abc import Sequence

from deployments.chat import ChatClient
from deployments.transcriber import BackendRejected, BackendUnavailable
from fluently.logging import get_logger
from pipelines.coverage import Sound, pause_spans, unrecovered_spans
from pipelines.metrics import FluencyMetrics, MetricsSettings, compute_metrics
from pipelines.repeats import Repeat
from pipelines.report import (
    Narrative,
    ReportLanguage,
    ReportType,
    build_llm_prompt,
    check_numbers,
    parse_narrative,
    render_markdown,
    template_narrative,
)
from pipelines.second_pass import HeardFiller
from pipelines.syllables import speech_language
from pipelines.types import FluencyReport, Transcript

log = get_logger("report_generator")

TEMPLATE_GENERATOR = "template"


class ReportGenerator:
    """Computes metrics and renders the report, trying each chat client in order."""

    def __init__(
        self,
        chat_clients: Sequence[ChatClient],
        metrics_settings: MetricsSettings | None = None,
    ) -> None:
        self._chat_clients = tuple(chat_clients)
        self._metrics_settings = metrics_settings or MetricsSettings()

    def generate(
        self,
        *,
        transcript: Transcript,
        duration_s: float,
        report_type: ReportType,
        language: ReportLanguage,
    ) -> FluencyReport:
        """The report for one transcript; never fails because an LLM did.

        ``language`` is the report's; syllables are counted in the transcript's own language.
        """
        sounds = [Sound(**sound) for sound in transcript.coverage.get("sounds", ())]
        repeats = [Repeat(**repeat) for repeat in transcript.coverage.get("repeats", ())]
        fillers = [HeardFiller(**f) for f in transcript.coverage.get("fillers", ())]
        metrics = compute_metrics(
            transcript.words(),
            duration_s,
            self._metrics_settings,
            sounds=sounds,
            repeats=repeats,
            fillers=fillers,
            language=speech_language(transcript.language),
            untranscribed=unrecovered_spans(transcript.coverage),
            pauses=pause_spans(transcript.coverage),
        )
        return self.from_metrics(
            transcript=transcript, metrics=metrics, report_type=report_type, language=language
        )

    def from_metrics(
        self,
        *,
        transcript: Transcript,
        metrics: FluencyMetrics,
        report_type: ReportType,
        language: ReportLanguage,
    ) -> FluencyReport:
        """The report for metrics already measured (a reviewed annotation's): the narrative and
        Markdown are written from them, nothing is detected again."""
        channels_apart = bool(transcript.coverage.get("channels_apart"))
        narrative, generator = self._narrative(
            metrics, transcript.text, report_type, language, channels_apart
        )
        return FluencyReport(
            type=str(report_type),
            language=str(language),
            generator=generator,
            metrics=metrics.to_dict(),
            content_markdown=render_markdown(
                metrics=metrics,
                narrative=narrative,
                report_type=report_type,
                language=language,
                channels_apart=channels_apart,
            ),
        )

    def _narrative(
        self,
        metrics: FluencyMetrics,
        transcript_text: str,
        report_type: ReportType,
        language: ReportLanguage,
        channels_apart: bool,
    ) -> tuple[Narrative, str]:
        """The first valid LLM narrative whose numbers are the metrics' (``check_numbers``),
        and its client's name; else the template's."""
        if self._chat_clients:
            system, user = build_llm_prompt(
                metrics=metrics,
                transcript_text=transcript_text,
                report_type=report_type,
                language=language,
                channels_apart=channels_apart,
            )
            for client in self._chat_clients:
                try:
                    reply = client.complete_json(system=system, user=user)
                    narrative = parse_narrative(reply)
                    return check_numbers(narrative, metrics.to_dict(), language), client.name
                except (BackendUnavailable, BackendRejected, ValueError) as exc:
                    log.warning(
                        "report narrative from %s unusable (%s: %s); falling back",
                        client.name,
                        type(exc).__name__,
                        exc,
                    )
        return template_narrative(metrics, report_type, language), TEMPLATE_GENERATOR
