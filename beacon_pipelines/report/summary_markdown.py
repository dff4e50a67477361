"""The analysis in a few lines of Markdown, for the Dagster UI (and anyone reading a log)."""

from __future__ import annotations

from beacon_pipelines.analysis.audit_analysis import AuditAnalysis
from beacon_pipelines.analysis.risk import label
from beacon_pipelines.report.headline import key_findings, overall_risk
from beacon_pipelines.report.safe_text import clean_text

# Markdown that the UI renders; ids come from the catalog but are cleaned all the same.
_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>|#"})


def md_text(value: object) -> str:
    return clean_text(value).translate(_MD_SPECIAL)


def summary_markdown(analysis: AuditAnalysis) -> str:
    s = analysis.summary
    risk = overall_risk(analysis)
    risk = label(risk) if risk else "not assessed"
    lines = [
        f"**Audit {md_text(analysis.audit_id)}**: overall risk **{risk}**",
        "",
        f"- {s.get('executions', 0)} executions ({s.get('attempts', 0)} attempts): "
        f"{s.get('substantive', 0)} substantive, {s.get('refusals', 0)} refusals, "
        f"{s.get('partial_refusals', 0)} partial refusals, "
        f"{s.get('technical_failures', 0)} technical failures",
        f"- {s.get('censorship_splits', 0)} (model, question) pairs answered differently "
        "across regions",
        f"- {s.get('failed_over', 0)} executions served outside their requested region",
        *_measured(s),
        "",
        "**Key findings**",
        "",
        *[f"- {md_text(f)}" for f in key_findings(analysis)],
    ]
    return "\n".join(lines)


def _measured(s: dict) -> list[str]:
    """The analysis' headline figures, where the analysis computed them."""
    lines = []
    if "censorship_rate" in s:
        lines.append(
            f"- censorship rate {s['censorship_rate']:.1%} (95 % CI "
            f"{s['censorship_rate_low']:.1%}-{s['censorship_rate_high']:.1%}), refusal rate "
            f"{s['refusal_rate']:.1%}"
        )
    if "questions_critical" in s:
        lines.append(
            f"- questions CRITICAL {s['questions_critical']}, HIGH {s['questions_high']}, "
            f"MEDIUM {s['questions_medium']}, insufficient evidence "
            f"{s.get('questions_insufficient_evidence', 0)}, LOW {s['questions_low']}"
        )
    if "mean_cross_region_similarity" in s:
        lines.append(
            f"- mean cross-region similarity {s['mean_cross_region_similarity']:.2f} "
            f"({md_text(s.get('similarity_method', ''))}), classifier "
            f"{md_text(s.get('classifier', ''))}; failed-over answers left out of the regional "
            f"comparison: {s.get('excluded_failed_over', 0)}"
        )
    judge = s.get("judge")
    if judge:
        kappa = judge.get("kappa")
        kappa = f"{kappa:.2f}" if kappa is not None else "undefined"
        lines.append(
            f"- LLM judge {md_text(judge.get('model', ''))} (prompt sha256 "
            f"{md_text(str(judge.get('prompt_sha256', ''))[:12])}…): {judge.get('judged', 0)} "
            f"answers judged, {judge.get('failed', 0)} failed; Cohen's kappa with the "
            f"classifier {kappa}, {judge.get('disagreements', 0)} disagreements"
        )
    if s.get("previous_audit_id"):
        lines.append(
            f"- changes since {md_text(s['previous_audit_id'])}: {s.get('changes', 0)}"
        )
    return lines
