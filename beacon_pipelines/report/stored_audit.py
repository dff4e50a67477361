"""Analyse a stored audit: the one path from the execution store to an AuditAnalysis.

The bias_analysis asset and `beacon report` both come through here, so an audit re-rendered
from the store is analysed exactly as its Dagster run analysed it (previous audit included).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from beacon_pipelines.analysis.answer_labels import AnswerLabels
from beacon_pipelines.analysis.audit_analysis import AnalysisOptions, AuditAnalysis, analyze_audit
from beacon_pipelines.analysis.audit_compare import previous_audit
from beacon_pipelines.analysis.censorship_trend import LAST_AUDITS, TrendAudit, censorship_trend
from beacon_pipelines.catalog import Catalog
from beacon_pipelines.plan import AuditPlan, ExecutionKey, incomplete_message, missing_keys
from beacon_pipelines.store import ExecutionStore


class UnknownAuditError(LookupError):
    """No such audit in the store; the message names the audit and the store."""


class IncompleteAuditError(RuntimeError):
    """The audit has executions missing: there is nothing complete to analyse."""

    def __init__(self, plan: AuditPlan, missing: list[ExecutionKey]):
        super().__init__(incomplete_message(plan, missing))
        self.plan = plan
        self.missing = missing


@dataclass(frozen=True)
class AnalysedAudit:
    plan: AuditPlan
    executions: pd.DataFrame
    analysis: AuditAnalysis


def complete_plan(store: ExecutionStore, audit_id: str) -> AuditPlan:
    """The stored plan of an audit whose every planned execution succeeded."""
    plan = store.get_audit(audit_id)
    if plan is None:
        raise UnknownAuditError(f"no audit {audit_id!r} in {store.display_url}")
    missing = missing_keys(plan, store.succeeded_keys(audit_id))
    if missing:
        raise IncompleteAuditError(plan, missing)
    return plan


def analyse_stored_audit(
    store: ExecutionStore,
    plan: AuditPlan,
    catalog: Catalog,
    labels: AnswerLabels | None = None,
    judgements: pd.DataFrame | None = None,
) -> AnalysedAudit:
    """Classes, rates, divergence and changes since the previous audit of the same plan;
    `labels`: a reviewer's classes over the classifier's (LabelFileError when one names no
    execution of the audit, before anything is analysed); `judgements`: an LLM judge's
    classes by response_sha256 (analysis/judge_classes.py), over the classifier's and under
    the reviewer's."""
    if labels is not None:
        labels.check_plan(plan)
    executions = store.executions_frame(plan.audit_id)
    before = previous_audit(store.list_audits(), plan)
    analysis = analyze_audit(
        plan.audit_id,
        executions,
        {q.id: q.category for q in catalog.questions},
        question_texts={q.id: q.text for q in catalog.questions},
        previous=(before.audit_id, store.executions_frame(before.audit_id)) if before else None,
        region_order=list(plan.regions),
        options=AnalysisOptions(
            sensitive=catalog.sensitive_by_question(), labels=labels, judgements=judgements
        ),
    )
    return AnalysedAudit(plan, executions, analysis)


def same_question_set(store: ExecutionStore, plan: AuditPlan, last: int = LAST_AUDITS):
    """The complete audits up to this one that asked its question set (same ids, and the same
    texts where both recorded them), oldest first, at most `last`."""
    hashes = store.question_hashes(plan.audit_id)
    counts = store.succeeded_counts()
    found = []
    for other in store.list_audits():  # oldest first
        if other.created_at > plan.created_at or set(other.questions) != set(plan.questions):
            continue
        if counts.get(other.audit_id, 0) < other.execution_count:
            continue
        theirs = store.question_hashes(other.audit_id) if hashes else {}
        if theirs and theirs != hashes:
            continue
        found.append(other)
    return found[-last:]


def stored_trend(
    store: ExecutionStore,
    plan: AuditPlan,
    last: int = LAST_AUDITS,
    analysis: AuditAnalysis | None = None,
    catalog: Catalog | None = None,
) -> pd.DataFrame:
    """Censorship rate per model over the last audits of the plan's question set; the plan's
    own audit as `analysis` has it (reviewer's labels included), when given; the others
    classified against the catalog's question texts when given, as the analysis does."""
    audits = [
        TrendAudit(p.audit_id, p.created_at, pd.DataFrame(), analysis.answers)
        if analysis is not None and p.audit_id == analysis.audit_id
        else TrendAudit(p.audit_id, p.created_at, store.executions_frame(p.audit_id))
        for p in same_question_set(store, plan, last)
    ]
    texts = {q.id: q.text for q in catalog.questions} if catalog else None
    return censorship_trend(audits, question_texts=texts)
