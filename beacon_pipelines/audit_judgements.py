"""The judgements an audit's analysis uses: its judge's (store.audit_judge), for its answers.

One path for the bias_analysis asset and `beacon report AUDIT_ID`, so a report re-rendered
from the store uses exactly the judgements the audit's run made (the judgements frame of
judgement_store.py); None for an audit without a judge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from beacon_pipelines.store import AuditJudge, ExecutionStore

if TYPE_CHECKING:
    import pandas as pd


def audit_judgements(
    store: ExecutionStore, audit_id: str, judge: AuditJudge | None = None
) -> pd.DataFrame | None:
    judge = judge or store.audit_judge(audit_id)
    if judge is None:
        return None
    from beacon_pipelines.judgement_store import JudgementStore

    judgements = JudgementStore.over(store).create()
    return judgements.frame(store.response_sha256s(audit_id), judge.model, judge.prompt_sha256)
