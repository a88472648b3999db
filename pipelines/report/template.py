"""The narrative written by rules from the metrics alone, used when no LLM answers usefully."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from pipelines.metrics import DISFLUENCY_TYPES, FluencyMetrics
from pipelines.report.narrative import Narrative
from pipelines.report.number_format import Numbers
from pipelines.report.options import ReportLanguage, ReportType
from pipelines.report.texts import Texts, texts

TYPICAL_ADULT_SPM = (162.0, 230.0)
"""Typical adult conversational speech rate in syllables per minute (Andrews & Ingham 1971)."""
STUTTERING_MARKER_PERCENT = 3.0
"""3 stuttering-like disfluencies per 100 syllables: the usual marker separating stuttering
from typical disfluency (Yairi & Ambrose 2005); applied here to %SS as well."""
HIGH_PERCENT = 10.0
"""%SS from which the template says "well above" that marker rather than "above"."""
MIN_SAMPLE_SYLLABLES = 200
"""Below this, %SS is unstable; the SSI-4 asks for samples of at least 200 syllables."""


def template_narrative(
    metrics: FluencyMetrics, report_type: ReportType, language: ReportLanguage
) -> Narrative:
    """A narrative written by rules from the metrics alone, used when no LLM answers."""
    t = texts(language)
    n = Numbers(language)
    if metrics.word_count == 0 and metrics.untranscribed:
        return Narrative(
            summary=t["summary.no_words_voiced"].format(
                duration=n.decimal(metrics.duration_s, 1),
                seconds=n.decimal(metrics.untranscribed_s, 1),
            ),
            observations=[],
            recommendations=[t["rec.untranscribed"], t["rec.no_speech"]],
        )
    if metrics.word_count == 0:
        return Narrative(
            summary=t["summary.no_speech"].format(duration=n.decimal(metrics.duration_s, 1)),
            observations=[],
            recommendations=[t["rec.no_speech"]],
        )
    fluency = report_type in {ReportType.fluency_analysis, ReportType.comprehensive}
    patterns = report_type in {ReportType.speech_patterns, ReportType.comprehensive}
    observations: list[str] = []
    recommendations: list[str] = [t["rec.untranscribed"]] if metrics.untranscribed_notice else []
    if fluency:
        observations += _fluency_observations(metrics, t, n)
    if patterns:
        observations += _pattern_observations(metrics, t, n)
    if metrics.syllable_count is None:
        recommendations.append(t["rec.count_by_hand"])
    elif metrics.syllable_count < MIN_SAMPLE_SYLLABLES:
        recommendations.append(t["rec.sample"])
    if fluency:
        recommendations += _fluency_recommendations(metrics, t)
    if patterns:
        recommendations += _pattern_recommendations(metrics, t)
    recommendations.append(t["rec.track"])
    return Narrative(
        summary=_template_summary(metrics, t, n),
        observations=observations,
        recommendations=recommendations,
    )


def _template_summary(metrics: FluencyMetrics, t: Texts, n: Numbers) -> str:
    low, high = TYPICAL_ADULT_SPM
    spm = metrics.syllables_per_minute
    pss = metrics.percent_syllables_stuttered
    if metrics.syllable_count is None or spm is None or pss is None:
        sentences = [
            t["summary.sample_words"].format(
                duration=n.decimal(metrics.duration_s, 1),
                words=n.decimal(metrics.word_count),
                span=n.decimal(metrics.speaking_span_s, 1),
                wpm=n.decimal(metrics.words_per_minute),
            ),
            t["summary.no_syllables"].format(language=metrics.language),
            t["summary.disfluencies_words"].format(
                count=n.decimal(metrics.disfluency_count),
                per_minute=n.decimal(metrics.disfluencies_per_minute, 1),
                sld=n.decimal(metrics.stuttering_like_disfluencies),
            ),
        ]
    else:
        sentences = [
            t["summary.sample"].format(
                duration=n.decimal(metrics.duration_s, 1),
                words=n.decimal(metrics.word_count),
                syllables=n.decimal(metrics.syllable_count),
                span=n.decimal(metrics.speaking_span_s, 1),
                spm=n.decimal(spm),
                wpm=n.decimal(metrics.words_per_minute),
            ),
            t["summary.rate"].format(
                band=t["rate." + _rate_band(spm)], low=n.decimal(low), high=n.decimal(high)
            ),
            t["summary.disfluencies"].format(
                count=n.decimal(metrics.disfluency_count),
                per_minute=n.decimal(metrics.disfluencies_per_minute, 1),
                sld=n.decimal(metrics.stuttering_like_disfluencies),
                pss=n.percent(pss),
                band=t["band." + _stuttering_band(pss)],
            ),
        ]
    most = _most_frequent_kind(metrics)
    if most is not None:
        sentences.append(
            t["summary.most_frequent"].format(
                kind=t["kind." + most], count=n.decimal(metrics.counts_by_type[most])
            )
        )
    return " ".join(sentences)


def _rate_band(syllables_per_minute: float) -> str:
    low, high = TYPICAL_ADULT_SPM
    if syllables_per_minute < low:
        return "below"
    return "above" if syllables_per_minute > high else "within"


def _stuttering_band(percent: float) -> str:
    if percent < STUTTERING_MARKER_PERCENT:
        return "low"
    return "high" if percent >= HIGH_PERCENT else "elevated"


def _most_frequent_kind(metrics: FluencyMetrics) -> str | None:
    """The type with more events than any other; None with no events, or where two or more
    types share the most (one interjection, one block, one revision: naming one of them "most
    frequent" in a clinical document is wrong)."""
    counts = metrics.counts_by_type
    most = max((counts.get(kind, 0) for kind in DISFLUENCY_TYPES), default=0)
    tied = [kind for kind in DISFLUENCY_TYPES if counts.get(kind, 0) == most]
    return tied[0] if most > 0 and len(tied) == 1 else None


def _fluency_observations(metrics: FluencyMetrics, t: Texts, n: Numbers) -> list[str]:
    # Events less certain than counted ones are named too, so "none detected" does not read as
    # nothing there to listen to.
    listed: Counter[str] = Counter(e.type for e in metrics.to_review)
    to_review = [t["obs.to_review"].format(counts=_by_type(listed, t, n))] if listed else []
    if not metrics.disfluencies:
        return [t["obs.none"], *to_review]
    counts = metrics.counts_by_type
    observations = [t["obs.by_type"].format(counts=_by_type(counts, t, n))]
    subtypes = [e.subtype for e in metrics.disfluencies if e.subtype is not None]
    if subtypes:
        kinds = ", ".join(
            f"{t['subtype.' + s]}: {n.decimal(subtypes.count(s))}"
            for s in ("part_word", "whole_word", "phrase")
            if s in subtypes
        )
        observations.append(t["obs.repetition_kinds"].format(counts=kinds))
    sld_key = "obs.sld" if metrics.sld_per_100_syllables is not None else "obs.sld_words"
    observations.append(
        t[sld_key].format(
            sld=n.decimal(metrics.stuttering_like_disfluencies),
            per100=n.decimal(metrics.sld_per_100_syllables, 1),
            other=n.decimal(metrics.other_disfluencies),
        )
    )
    disrhythmic = counts.get("block", 0) + counts.get("prolongation", 0)
    if disrhythmic:
        observations.append(t["obs.disrhythmic"].format(count=n.decimal(disrhythmic)))
    return observations + to_review


def _by_type(counts: Mapping[str, int], t: Texts, n: Numbers) -> str:
    """The ``counts`` of each disfluency type, in the report's order: "blocks: 2"."""
    return ", ".join(
        f"{t['kinds.' + kind]}: {n.decimal(counts[kind])}"
        for kind in DISFLUENCY_TYPES
        if counts.get(kind)
    )


def _pattern_observations(metrics: FluencyMetrics, t: Texts, n: Numbers) -> list[str]:
    low, high = TYPICAL_ADULT_SPM
    settings = metrics.settings
    share = (
        100.0 * metrics.speech_time_s / metrics.speaking_span_s if metrics.speaking_span_s else 0.0
    )
    observations = []
    if metrics.syllables_per_minute is None or metrics.articulation_rate is None:
        observations.append(t["obs.word_rate"].format(wpm=n.decimal(metrics.words_per_minute)))
    else:
        observations += [
            t["obs.rate"].format(
                spm=n.decimal(metrics.syllables_per_minute),
                wpm=n.decimal(metrics.words_per_minute),
                low=n.decimal(low),
                high=n.decimal(high),
            ),
            t["obs.articulation"].format(
                rate=n.decimal(metrics.articulation_rate, 2),
                speech=n.decimal(metrics.speech_time_s, 1),
            ),
        ]
    return [
        *observations,
        t["obs.pauses"].format(
            min=n.seconds(settings.pause_min_s),
            count=n.decimal(metrics.pause_count),
            mean=n.decimal(metrics.mean_pause_s, 2),
            long=n.decimal(metrics.long_pause_count),
            long_s=n.seconds(settings.long_pause_s),
        ),
        t["obs.speech_share"].format(share=n.percent(share, 0)),
    ]


def _fluency_recommendations(metrics: FluencyMetrics, t: Texts) -> list[str]:
    counts = metrics.counts_by_type
    recommendations = []
    pss, sld = metrics.percent_syllables_stuttered, metrics.sld_per_100_syllables
    if pss is not None and sld is not None:
        above_marker = STUTTERING_MARKER_PERCENT <= max(pss, sld)
        recommendations.append(t["rec.assessment"] if above_marker else t["rec.monitor"])
    most = _most_frequent_kind(metrics)
    if most == "repetition":
        recommendations.append(t["rec.repetitions"])
    if counts.get("block", 0) + counts.get("prolongation", 0):
        recommendations.append(t["rec.disrhythmic"])
    if most == "interjection" and counts["interjection"] >= 3:
        recommendations.append(t["rec.fillers"])
    if metrics.to_review:
        recommendations.append(t["rec.to_review"])
    return recommendations


def _pattern_recommendations(metrics: FluencyMetrics, t: Texts) -> list[str]:
    recommendations = []
    band = (
        None if metrics.syllables_per_minute is None else _rate_band(metrics.syllables_per_minute)
    )
    if band == "above":
        recommendations.append(t["rec.rate_fast"])
    elif band == "below":
        recommendations.append(t["rec.rate_slow"])
    if metrics.long_pause_count:
        recommendations.append(t["rec.long_pauses"])
    return recommendations
