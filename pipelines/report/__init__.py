"""The clinical report: a deterministic Markdown rendering of the metrics plus a narrative.

The metrics table and the disfluency list are built from ``FluencyMetrics`` only
(``markdown``); the narrative (summary, observations, recommendations) comes from an LLM
(``llm_prompt`` asks, ``llm_reply`` validates, ``llm_numbers`` holds its numbers to the
metrics) or, without one, from ``template``. LLM text is
untrusted: ``parse_narrative`` validates it and flattens any Markdown or HTML structure, and
every piece of text from the transcript or the LLM is escaped when rendered, so neither can add
headings, tables or links to the report. The words of each report language are data, in
``locales/<language>.json`` (``texts``).
"""

from pipelines.report.llm_numbers import check_numbers
from pipelines.report.llm_prompt import build_llm_prompt
from pipelines.report.llm_reply import parse_narrative
from pipelines.report.markdown import render_markdown
from pipelines.report.narrative import Narrative
from pipelines.report.options import ReportLanguage, ReportType
from pipelines.report.template import template_narrative

__all__ = [
    "Narrative",
    "ReportLanguage",
    "ReportType",
    "build_llm_prompt",
    "check_numbers",
    "parse_narrative",
    "render_markdown",
    "template_narrative",
]
