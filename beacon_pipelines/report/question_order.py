"""In which order a report lists questions: riskiest first, the catalog's order among equals."""

from __future__ import annotations

import pandas as pd

from beacon_pipelines.analysis.risk import rank
from beacon_pipelines.report.headline import risk_level


def riskiest_first(planned, questions: pd.DataFrame, risk_col: str | None) -> list[str]:
    """Question ids by their worst model's level (INSUFFICIENT_EVIDENCE above LOW), worst
    first; sorted() is stable, so equals keep the catalog's order."""
    if not risk_col or questions.empty:
        return list(planned)
    worst = {
        q: max((rank(risk_level(r) or "") for r in group[risk_col]), default=-1)
        for q, group in questions.groupby("question_id")
    }
    return sorted(planned, key=lambda q: -worst.get(q, -1))
