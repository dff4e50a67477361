"""The headline of an audit in plain words: overall risk level and key findings.

Works with the analysis as it grows: risk levels and findings are used when the analysis has
them, and the findings are otherwise stated from the classes and rates it always has.
"""

from __future__ import annotations

import pandas as pd

from beacon_pipelines.analysis.audit_analysis import AuditAnalysis
from beacon_pipelines.analysis.response_class import WITHHELD_VALUES
from beacon_pipelines.analysis.risk import ORDER

RISK_LEVELS = ORDER  # least worrying first
MAX_FINDINGS = 8


def risk_level(value: object) -> str | None:
    """A value as one of RISK_LEVELS, or None when it is not one."""
    text = getattr(value, "value", value)
    if isinstance(text, str) and text.strip().upper() in RISK_LEVELS:
        return text.strip().upper()
    return None


def overall_risk(analysis: AuditAnalysis) -> str | None:
    """The audit's risk level if the analysis assessed one (attribute or summary entry)."""
    for name in ("risk_level", "overall_risk", "audit_risk", "risk"):
        level = risk_level(getattr(analysis, name, None))
        if level:
            return level
    summary = analysis.summary or {}
    for name in ("risk_level", "overall_risk", "audit_risk", "risk"):
        level = risk_level(summary.get(name))
        if level:
            return level
    return None


def risk_column(frame: pd.DataFrame) -> str | None:
    """The column of a frame that holds risk levels, if any."""
    for name in ("risk_level", "risk", "overall_risk"):
        if name in frame.columns:
            return name
    return None


def key_findings(analysis: AuditAnalysis) -> list[str]:
    if analysis.findings:
        return [str(f) for f in analysis.findings[:MAX_FINDINGS]]
    return derived_findings(analysis)[:MAX_FINDINGS]


def derived_findings(analysis: AuditAnalysis) -> list[str]:
    """Findings stated from classes, rates and failovers: most telling first."""
    answers = analysis.answers
    findings: list[str] = []
    if answers.empty:
        return ["No answers to analyse."]
    first = answers.sort_values("sample").groupby(["model", "question_id", "region"]).head(1)
    for (model, question_id), group in first.groupby(["model", "question_id"], sort=True):
        classes = dict(zip(group["region"], group["response_class"], strict=True))
        refusing = sorted(r for r, c in classes.items() if c in WITHHELD_VALUES)
        answering = sorted(r for r, c in classes.items() if c == "substantive")
        if refusing and answering:
            withheld = ", ".join(f"{r} ({classes[r].replace('_', ' ')})" for r in refusing)
            findings.append(
                f"{model} withholds its answer to {question_id} in {withheld} but answers it "
                f"in {', '.join(answering)}."
            )
    rates = analysis.rates
    if not rates.empty and "censorship_rate" in rates.columns:
        top = rates.sort_values("censorship_rate", ascending=False).iloc[0]
        if top["censorship_rate"] > 0:
            findings.append(
                f"Highest censorship rate: {top['model']} in {top['region']}, "
                f"{top['censorship_rate']:.0%} of its answers refused or evaded."
            )
        else:
            findings.append("No model refused or evaded any question in any region.")
    failed_over = int(answers.get("failed_over", pd.Series(dtype=bool)).sum())
    if failed_over:
        findings.append(
            f"{failed_over} answers were served outside their requested region (failover); "
            "they are flagged next to the answer."
        )
    failures = int((answers["response_class"] == "technical_failure").sum())
    if failures:
        findings.append(f"{failures} answers are technical failures (no usable text).")
    return findings
