"""AuditAnalysis: what the analysis of one audit produced (computed by audit_analysis.py).

A module of its own, without pandas at import: the Dagster definitions name this type in their
assets' signatures, and every `beacon audit` builds them before its first backend call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def _empty_frame() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame()


@dataclass
class AuditAnalysis:
    audit_id: str
    # One row per execution (its final attempt): its class, class_source, confidence, and
    # the cues and words that decided it (answer_explanation.py, answer_labels.py).
    answers: pd.DataFrame
    rates: pd.DataFrame  # one row per (model, region)
    questions: pd.DataFrame  # one row per (model, question): classes and similarity by region
    summary: dict
    # One row per (model, question_id, region_a, region_b): how alike two regions' answers are.
    pairs: pd.DataFrame = field(default_factory=_empty_frame)
    # Plain-language key findings, most important first.
    findings: list[str] = field(default_factory=list)
    # What changed since the previous audit of the same catalog (empty when there is none).
    changes: pd.DataFrame = field(default_factory=_empty_frame)
    # One row per model: its risk level and how many questions sit at each level.
    models: pd.DataFrame = field(default_factory=_empty_frame)
