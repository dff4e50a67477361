"""Censorship rate per model over the last audits of one question set: is a model withholding
more (or less) than it used to? Pure pandas; each audit's answers classified as in its own
analysis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from beacon_pipelines.analysis.audit_analysis import classify_answers
from beacon_pipelines.analysis.intervals import wilson_interval

TREND_COLUMNS = ["audit_id", "created_at", "model", "n", "withheld", "censorship_rate",
                 "censorship_low", "censorship_high"]
LAST_AUDITS = 10


@dataclass(frozen=True)
class TrendAudit:
    audit_id: str
    created_at: float
    executions: pd.DataFrame
    # The audit's analysed answers, when at hand (its reviewer's labels applied): used as they
    # are instead of classifying the executions again.
    answers: pd.DataFrame | None = None


def censorship_trend(
    audits: Sequence[TrendAudit], classifier=None, question_texts: dict[str, str] | None = None
) -> pd.DataFrame:
    """One row per (audit, model), oldest audit first. Failed-over answers are left out, as in
    the analysis's own rates; `question_texts` (id -> text) are passed to the classifier."""
    rows = []
    for audit in sorted(audits, key=lambda a: a.created_at):
        answers = audit.answers
        if answers is None:
            if audit.executions.empty:
                continue
            answers = classify_answers(audit.executions, classifier, question_texts)
        if answers.empty:
            continue
        answers = answers[~answers["failed_over"]]
        for model, group in answers.groupby("model", sort=True):
            n, withheld = int(len(group)), int(group["withheld"].sum())
            low, high = wilson_interval(withheld, n)
            rows.append({
                "audit_id": audit.audit_id, "created_at": audit.created_at, "model": model,
                "n": n, "withheld": withheld, "censorship_rate": withheld / n if n else 0.0,
                "censorship_low": low, "censorship_high": high,
            })
    return pd.DataFrame(rows, columns=TREND_COLUMNS)
