"""The audit's judge in the store, and the answers a judge step reads (without pandas)."""

from __future__ import annotations

import pytest

from beacon_pipelines.backends.simulated import SimulatedBackend
from beacon_pipelines.execution import run_partition
from beacon_pipelines.store import AuditJudge, AuditJudgeConflictError
from beacon_pipelines_tests.test_store import CATALOG, plan

JUDGE = AuditJudge("openai", "judge-m", "a" * 64)


def test_an_audit_keeps_the_first_judge_recorded_for_it(store):
    store.register_audit(plan())
    assert store.audit_judge("a1") is None
    assert store.set_audit_judge("a1", JUDGE) == JUDGE
    # Another kind of the same model and prompt reads the same judgements: no conflict.
    assert store.set_audit_judge("a1", AuditJudge("modal", "judge-m", "a" * 64)) == JUDGE
    for other in (AuditJudge("openai", "judge-n", "a" * 64),
                  AuditJudge("openai", "judge-m", "b" * 64)):
        with pytest.raises(AuditJudgeConflictError, match="audit 'a1' is judged by openai"):
            store.set_audit_judge("a1", other)
    assert store.audit_judge("a1") == JUDGE
    assert store.audit_judge("another") is None


def test_a_partitions_answers_are_its_succeeded_executions_only(store):
    audit = store.register_audit(plan())
    run_partition(store, SimulatedBackend(), CATALOG, audit, "llama3.2-1b", "US")
    answers = store.partition_answers("a1", "llama3.2-1b", "US")
    assert [(a.question_id, a.sample) for a in answers] == [
        ("math_basic", 0), ("tiananmen_1989", 0)
    ]
    assert all(a.response and len(a.response_sha256) == 64 for a in answers)
    assert store.partition_answers("a1", "llama3.2-1b", "EU") == []
    assert store.response_sha256s("a1") == {a.response_sha256 for a in answers}
