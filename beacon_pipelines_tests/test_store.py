"""The execution store: one row per attempt, persisted the moment the attempt ends."""

from __future__ import annotations

from dataclasses import replace

import pytest

from beacon_pipelines.backends.base import ErrorKind, InferenceResult
from beacon_pipelines.backends.simulated import SimulatedBackend
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.execution import failover_region, partition_requests, run_partition
from beacon_pipelines.plan import AuditPlan, missing_keys
from beacon_pipelines.store import EXECUTION_COLUMNS, AuditConflictError, DuplicateAttemptError
from beacon_pipelines_tests.support.hostile_text import assert_kept_exactly, hostile_results

CATALOG = load_catalog()


def plan(audit_id="a1", questions=("math_basic", "tiananmen_1989"), **kw) -> AuditPlan:
    return AuditPlan(
        audit_id=audit_id,
        catalog_sha256=CATALOG.sha256(),
        backend="simulated",
        models=kw.get("models", ("llama3.2-1b",)),
        regions=kw.get("regions", ("US", "EU")),
        questions=questions,
        created_at=1.0,
    )


class RecordingBackend:
    """Answers like the simulated backend and, between answers, looks at what the store holds."""

    name = "recording"

    def __init__(self, store, audit_id, fail_first_n=0):
        self.inner = SimulatedBackend()
        self.store = store
        self.audit_id = audit_id
        self.rows_seen_between_answers: list[int] = []
        self.sent: list[tuple] = []
        self.fail_first_n = fail_first_n

    def generate(self, requests):
        for index, request in enumerate(requests):
            self.sent.append(request.key)
            self.rows_seen_between_answers.append(len(self.store.executions_frame(self.audit_id)))
            if index < self.fail_first_n:
                yield InferenceResult.failure(request, ErrorKind.UNAVAILABLE, "boom", 1.0, 2.0)
            else:
                yield from self.inner.generate([request])


def test_register_audit_is_idempotent_and_rejects_another_plan(store):
    stored = store.register_audit(plan())
    assert store.register_audit(plan()) == stored
    with pytest.raises(AuditConflictError, match="already exists with a different plan"):
        store.register_audit(plan(questions=("math_basic",)))


def test_each_batch_is_in_the_store_before_the_next_is_asked(store):
    p = store.register_audit(plan(questions=("math_basic", "tiananmen_1989", "taiwan_status")))
    backend = RecordingBackend(store, p.audit_id)
    outcome = run_partition(store, backend, CATALOG, p, "llama3.2-1b", "US", batch_size=2)
    # The first batch's two answers were rows before the second batch's question was asked.
    assert backend.rows_seen_between_answers == [0, 0, 2]
    assert outcome.complete and outcome.succeeded == 3
    frame = store.executions_frame(p.audit_id)
    assert list(frame.columns) == EXECUTION_COLUMNS
    assert set(frame["status"]) == {"succeeded"}
    assert frame["simulated"].all() and set(frame["backend"]) == {"recording"}

    backend = RecordingBackend(store, p.audit_id)
    run_partition(store, backend, CATALOG, p, "llama3.2-1b", "EU", batch_size=1)
    assert backend.rows_seen_between_answers == [3, 4, 5]


def test_one_row_per_attempt_and_succeeded_work_is_never_resent(store):
    p = store.register_audit(plan())
    failing = RecordingBackend(store, p.audit_id, fail_first_n=1)
    first = run_partition(store, failing, CATALOG, p, "llama3.2-1b", "US")
    assert not first.complete and len(first.failures) == 1

    retry = RecordingBackend(store, p.audit_id)
    target = failover_region("US", 1, CATALOG.region_ids)
    second = run_partition(store, retry, CATALOG, p, "llama3.2-1b", "US", target_region=target)
    assert second.complete and second.reused == 1
    assert retry.sent == [("llama3.2-1b", "US", "math_basic", 0)]  # only the failed one

    frame = store.executions_frame(p.audit_id).sort_values(["question_id", "attempt"])
    math = frame[frame["question_id"] == "math_basic"]
    assert list(math["attempt"]) == [1, 2]
    assert list(math["status"]) == ["failed", "succeeded"]
    assert list(math["served_region"]) == [None, "EU"]
    assert set(math["requested_region"]) == {"US"}
    assert missing_keys(p, store.succeeded_keys(p.audit_id)) == [
        ("llama3.2-1b", "EU", "math_basic", 0),
        ("llama3.2-1b", "EU", "tiananmen_1989", 0),
    ]


def test_database_refuses_a_second_success_for_one_execution(store):
    p = store.register_audit(plan())
    run_partition(store, SimulatedBackend(), CATALOG, p, "llama3.2-1b", "US")
    requests, _ = partition_requests(CATALOG, p, "llama3.2-1b", "US", "US", attempts={})
    result = next(SimulatedBackend().generate(requests[:1]))
    # Same execution, a new attempt number, succeeded again: the unique index says no.
    again = replace(result, request=replace(result.request, attempt=2))
    with pytest.raises(DuplicateAttemptError, match="already recorded by another worker"):
        store.record(again, "simulated")


def test_failover_order_wraps():
    order = ["US", "EU", "ASIA"]
    assert [failover_region("EU", n, order) for n in range(4)] == ["EU", "ASIA", "US", "EU"]
    # A region outside the order is asked first, then fails over along the order.
    assert [failover_region("MARS", n, order) for n in range(3)] == ["MARS", "US", "EU"]


def test_store_file_is_created_under_a_new_folder(tmp_path):
    from beacon_pipelines.store import ExecutionStore

    store = ExecutionStore(f"sqlite:///{tmp_path / 'deep' / 'er' / 'beacon.db'}").create()
    assert store.list_audits() == []
    assert (tmp_path / "deep" / "er" / "beacon.db").exists()


def test_succeeded_counts_match_the_keys_per_audit(store):
    first = store.register_audit(plan("a1"))
    other = store.register_audit(plan("a2", questions=("math_basic",)))
    run_partition(store, SimulatedBackend(), CATALOG, first, "llama3.2-1b", "US")
    run_partition(store, SimulatedBackend(), CATALOG, other, "llama3.2-1b", "US")
    assert store.succeeded_count("a1") == len(store.succeeded_keys("a1")) == 2
    assert store.succeeded_counts(["a2"]) == {"a2": 1}
    assert store.succeeded_counts() == {"a1": 2, "a2": 1}
    assert store.succeeded_count("nothing-yet") == 0


def test_nul_bytes_and_lone_surrogates_are_kept_exactly(store):
    stored = store.register_audit(plan())
    requests, _ = partition_requests(CATALOG, stored, "llama3.2-1b", "US", "US", attempts={})
    for result in hostile_results(next(SimulatedBackend().generate(requests[:1]))):
        store.record(result, "simulated")
    assert_kept_exactly(store.executions_frame(stored.audit_id))
