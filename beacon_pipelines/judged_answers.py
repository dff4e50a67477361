"""The answers of one (model, region) of an audit that a judge is asked about.

Every succeeded execution except technical failures (no text, or none with a letter or digit:
the classifier's own test), each with the question as that region was asked it (its language).
Identical answers share a sha256 and so one judgement (judge_answers dedupes them).
"""

from __future__ import annotations

from beacon_pipelines.catalog import Catalog
from beacon_pipelines.plan import AuditPlan
from beacon_pipelines.store import ExecutionStore


def partition_judge_items(
    store: ExecutionStore, catalog: Catalog, plan: AuditPlan, model: str, region: str
) -> tuple[list, int]:
    """(JudgeItems of the partition's answers, number of technical failures left out)."""
    # Imported here: they pull numpy, which nothing before the first step may import.
    from beacon_pipelines.analysis.classify import is_technical_failure
    from beacon_pipelines.judge.verdict import judge_item

    items, failures = [], 0
    for answer in store.partition_answers(plan.audit_id, model, region):
        if answer.response_sha256 is None or is_technical_failure(answer.response):
            failures += 1
            continue
        question = catalog.asked(answer.question_id, region).question
        items.append(judge_item(answer.response_sha256, question, answer.response))
    return items, failures
