"""The analysis in a few lines of Markdown, for the Dagster UI (and anyone reading a log)."""

from __future__ import annotations

from beacon_pipelines.analysis.audit_analysis import AuditAnalysis
from beacon_pipelines.report.headline import key_findings, overall_risk
from beacon_pipelines.report.safe_text import clean_text

# Markdown that the UI renders; ids come from the catalog but are cleaned all the same.
_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>|#"})


def md_text(value: object) -> str:
    return clean_text(value).translate(_MD_SPECIAL)


def summary_markdown(analysis: AuditAnalysis) -> str:
    s = analysis.summary
    risk = overall_risk(analysis) or "not assessed"
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
        "",
        "**Key findings**",
        "",
        *[f"- {md_text(f)}" for f in key_findings(analysis)],
    ]
    return "\n".join(lines)
