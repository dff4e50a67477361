"""A partition's questions go to the backend in batches: neither one giant request nor one call
per question; each batch is stored as its call ends, and resume and failover work per batch."""

from __future__ import annotations

import pytest

from beacon_pipelines.backends.base import BackendError, ErrorKind
from beacon_pipelines.backends.batches import chunked
from beacon_pipelines.backends.modal.backend import ModalBackend
from beacon_pipelines.backends.simulated import SimulatedBackend
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.execution import run_partition
from beacon_pipelines.plan import AuditPlan
from beacon_pipelines_tests.support import fake_modal
from beacon_pipelines_tests.support.fake_modal import FakeDeployment

CATALOG = load_catalog()
MODEL = "llama3.2-1b"
US_CLASS, EU_CLASS = "Beacon_llama3_2_1b_US", "Beacon_llama3_2_1b_EU"


def plan(audit_id: str, samples: int = 5, backend: str = "simulated") -> AuditPlan:
    # 8 questions x 5 samples = 40 executions per partition.
    return AuditPlan(
        audit_id=audit_id,
        catalog_sha256=CATALOG.sha256(),
        backend=backend,
        models=(MODEL,),
        regions=("US", "EU"),
        questions=tuple(CATALOG.question_ids),
        samples=samples,
        created_at=1.0,
    )


class CountingBackend:
    """The simulated backend's answers; records each call's size, fails the calls listed."""

    name = "counting"

    def __init__(self, fail_calls: tuple[int, ...] = (), kind=ErrorKind.UNAVAILABLE):
        self.inner = SimulatedBackend()
        self.calls: list[list[tuple]] = []
        self.fail_calls = fail_calls
        self.kind = kind

    def generate(self, requests):
        batch = list(requests)
        self.calls.append([r.key for r in batch])
        if len(self.calls) in self.fail_calls:
            raise BackendError(self.kind, f"call {len(self.calls)} failed")
        yield from self.inner.generate(batch)


def attempts(store, audit_id):
    frame = store.executions_frame(audit_id)
    return {(r.question_id, r.sample, r.attempt): r.status for r in frame.itertuples()}


def test_requests_are_chunked_in_order_and_the_size_is_bounded():
    assert chunked(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    for bad in (0, -1, 10_001, True, 2.5):
        with pytest.raises(ValueError, match="batch size must be an integer"):
            chunked([1], bad)


def test_a_partition_is_sent_in_batches_of_the_configured_size(store):
    p = store.register_audit(plan("b1"))
    backend = CountingBackend()
    outcome = run_partition(store, backend, CATALOG, p, MODEL, "US", batch_size=15)
    assert [len(c) for c in backend.calls] == [15, 15, 10]
    sent = [key for call in backend.calls for key in call]
    assert len(sent) == len(set(sent)) == 40  # each execution once, in the plan's order
    assert outcome.complete and outcome.succeeded == 40
    assert store.succeeded_count("b1") == 40


def test_a_failed_batch_stops_the_partition_and_the_retry_sends_only_what_is_pending(store):
    p = store.register_audit(plan("b2"))
    backend = CountingBackend(fail_calls=(2,))
    first = run_partition(store, backend, CATALOG, p, MODEL, "US", batch_size=15)
    # Batch 1 stored; batch 2 failed whole (a failure row each); batch 3 never sent.
    assert [len(c) for c in backend.calls] == [15, 15]
    assert not first.complete and first.succeeded == 15 and len(first.failures) == 15
    rows = attempts(store, "b2")
    assert list(rows.values()).count("succeeded") == 15
    assert list(rows.values()).count("failed") == 15 and len(rows) == 30

    # The retry fails over to EU with the 25 executions not yet answered: batch 2's as their
    # second attempt, batch 3's as their first.
    retry_backend = CountingBackend()
    second = run_partition(
        store, retry_backend, CATALOG, p, MODEL, "US", target_region="EU", batch_size=15
    )
    assert [len(c) for c in retry_backend.calls] == [15, 10]
    assert set(backend.calls[0]).isdisjoint(k for c in retry_backend.calls for k in c)
    assert second.complete and second.reused == 15 and second.succeeded == 25
    attempts_now = [r.request.attempt for r in second.results]
    assert attempts_now == [2] * 15 + [1] * 10
    assert {r.served_region for r in second.results} == {"EU"}
    assert store.succeeded_count("b2") == 40


def test_a_permanent_error_in_a_batch_sends_no_further_batch(store):
    p = store.register_audit(plan("b3"))
    backend = CountingBackend(fail_calls=(1,), kind=ErrorKind.AUTH)
    outcome = run_partition(store, backend, CATALOG, p, MODEL, "US", batch_size=15)
    assert len(backend.calls) == 1
    assert len(outcome.permanent_failures) == 15 and outcome.succeeded == 0


def test_modal_sends_one_call_per_batch_to_the_same_class(store):
    p = store.register_audit(plan("m1", backend="modal"))
    deployment = FakeDeployment()
    modal = ModalBackend(lookup=deployment)
    outcome = run_partition(store, modal, CATALOG, p, MODEL, "US", batch_size=16)
    assert outcome.complete and outcome.succeeded == 40
    handle = deployment.handles[US_CLASS]
    spawns = [entry[1] for entry in handle.log if entry[0] == "spawn"]
    assert [len(batch["items"]) for batch in spawns] == [16, 16, 8]
    assert deployment.looked_up == [("beacon-inference", US_CLASS)]  # one handle, reused
    frame = store.executions_frame("m1")
    assert frame.groupby("call_id").size().tolist() == [16, 16, 8]  # each answer names its call
    assert store.calls_frame("m1")["state"].tolist() == ["collected"] * 3


def test_modal_late_replies_are_collected_for_the_whole_partition_not_one_batch(store):
    """A late call answering questions of a later batch is collected, not cancelled as
    superseded while an earlier batch is sent."""
    p = store.register_audit(plan("m2", samples=1, backend="modal"))
    deployment = FakeDeployment(**{US_CLASS: {"late": True}})
    modal = ModalBackend(lookup=deployment, cold_start_timeout_s=1, execution_timeout_s=1)
    first = run_partition(store, modal, CATALOG, p, MODEL, "US", batch_size=8)
    assert not first.complete  # the one call of 8 passed its deadline, left running
    [late] = deployment.spawned
    late.arrive()

    # The retry, in batches of 3, collects the late call's 8 answers before sending anything.
    second = run_partition(
        store, modal, CATALOG, p, MODEL, "US", target_region="EU", batch_size=3
    )
    assert second.complete and second.succeeded == 8
    assert deployment.spawned == [late] and EU_CLASS not in deployment.handles
    assert not late.cancelled
    assert store.calls_frame("m2")["state"].tolist() == ["collected"]


def test_modal_retires_an_earlier_call_only_when_all_its_questions_are_answered(
    store, monkeypatch
):
    p = store.register_audit(plan("m3", samples=1, backend="modal"))
    deployment = FakeDeployment(**{US_CLASS: {"late": True}})
    modal = ModalBackend(lookup=deployment, cold_start_timeout_s=1, execution_timeout_s=1)
    run_partition(store, modal, CATALOG, p, MODEL, "US", batch_size=8)
    [late] = deployment.spawned  # never arrives
    cancelled_at_spawn = []
    spawn = fake_modal.FakeMethod.spawn

    def spying_spawn(self, batch):
        cancelled_at_spawn.append(late.cancelled)
        return spawn(self, batch)

    monkeypatch.setattr(fake_modal.FakeMethod, "spawn", spying_spawn)
    second = run_partition(
        store, modal, CATALOG, p, MODEL, "US", target_region="EU", batch_size=3
    )
    assert second.complete
    eu = [c for c in deployment.spawned if c is not late]
    assert [len(c.batch["items"]) for c in eu] == [3, 3, 2]
    assert cancelled_at_spawn == [False, False, False]  # still wanted while batches were sent
    # Only after the last batch is every question of the late call answered: then it stops.
    assert late.cancelled
    states = dict(zip(*store.calls_frame("m3")[["call_id", "state"]].T.values, strict=True))
    assert states[late.object_id] == "superseded"
    assert [states[c.object_id] for c in eu] == ["collected"] * 3
