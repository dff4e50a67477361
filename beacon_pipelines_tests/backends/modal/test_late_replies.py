"""Late Modal replies: a call past its client deadline is not cancelled while its budget lasts;
the partition's next attempt collects its reply (paid for once) instead of calling again.
Offline, through the injected fake of Modal (support/fake_modal.py)."""

from __future__ import annotations

import pytest

from beacon_pipelines.backends.modal.backend import ModalBackend
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.execution import run_partition
from beacon_pipelines.plan import AuditPlan
from beacon_pipelines.store import ExecutionStore
from beacon_pipelines_tests.support import fake_modal
from beacon_pipelines_tests.support.fake_modal import FakeDeployment

CATALOG = load_catalog()
MODEL = "llama3.2-1b"
US_CLASS, EU_CLASS = "Beacon_llama3_2_1b_US", "Beacon_llama3_2_1b_EU"
PLAN = AuditPlan(
    audit_id="late-1",
    catalog_sha256=CATALOG.sha256(),
    backend="modal",
    models=(MODEL,),
    regions=("US", "EU"),
    questions=("math_basic", "tiananmen_1989"),
    created_at=1.0,
)


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path):
    store = ExecutionStore(f"sqlite:///{tmp_path / 'beacon.db'}").create()
    store.register_audit(PLAN)
    yield store
    store.dispose()


def backend(deployment, **kwargs) -> ModalBackend:
    # A 2 s client deadline; the deployed class's budget is Modal's default 1500 s.
    return ModalBackend(
        lookup=deployment, cold_start_timeout_s=1, execution_timeout_s=1, **kwargs
    )


def attempts(store) -> list[dict]:
    frame = store.executions_frame(PLAN.audit_id)
    return frame.sort_values(["question_id", "attempt"]).to_dict("records")


def test_a_reply_after_the_deadline_is_collected_by_the_retry_and_billed_once(store):
    deployment = FakeDeployment(**{US_CLASS: {"late": True}})
    modal = backend(deployment)

    first = run_partition(store, modal, CATALOG, PLAN, MODEL, "US")
    assert not first.complete and {r.error_kind.value for r in first.failures} == {"timeout"}
    [call] = deployment.spawned
    assert ("cancel",) not in deployment.handles[US_CLASS].log  # left to finish: it is paid for
    [open_call] = store.open_calls(PLAN.audit_id, MODEL, "US")
    assert open_call["call_id"] == call.object_id and open_call["target_region"] == "US"

    call.arrive()  # the reply lands after the deadline
    # The retry fails over to EU, yet first collects the US call's reply: nothing is called.
    second = run_partition(store, modal, CATALOG, PLAN, MODEL, "US", target_region="EU")
    assert second.complete and second.succeeded == 2
    assert deployment.spawned == [call]  # billed once
    assert EU_CLASS not in deployment.handles  # not even looked up

    rows = attempts(store)
    assert [(r["attempt"], r["status"]) for r in rows] == [
        (1, "failed"), (2, "succeeded"), (1, "failed"), (2, "succeeded")
    ]
    for failed, collected in (rows[0:2], rows[2:4]):
        assert failed["error_type"] == "timeout" and failed["call_id"] == call.object_id
        assert "keeps running within its budget" in failed["error_message"]
        assert collected["call_id"] == call.object_id  # the same call's reply
        assert collected["served_region"] == "US"  # served where that call ran
        assert collected["served_cloud_region"] == "us-east-1"
        assert collected["region_verified"] == "yes"
        assert collected["response"] == fake_modal.fake_text(
            {"system_prompt": CATALOG.system_prompt("US"),
             "question": CATALOG.question(collected["question_id"]).text}
        )
    assert store.open_calls(PLAN.audit_id, MODEL, "US") == []
    assert store.calls_frame(PLAN.audit_id)["state"].tolist() == ["collected"]


def test_the_call_id_is_stored_before_waiting(store, monkeypatch):
    deployment = FakeDeployment()
    seen: list[list[str]] = []
    get = fake_modal.FakeCall.get

    def spying_get(self, timeout=None):
        seen.append([c["call_id"] for c in store.open_calls(PLAN.audit_id, MODEL, "US")])
        return get(self, timeout)

    monkeypatch.setattr(fake_modal.FakeCall, "get", spying_get)
    outcome = run_partition(store, backend(deployment), CATALOG, PLAN, MODEL, "US")
    assert outcome.complete
    assert seen == [[deployment.spawned[0].object_id]]  # a crash while waiting loses nothing
    assert store.calls_frame(PLAN.audit_id)["state"].tolist() == ["collected"]


def test_a_reply_not_arrived_is_left_running_and_the_retry_calls_again(store):
    deployment = FakeDeployment(**{US_CLASS: {"late": True}})
    modal = backend(deployment)
    run_partition(store, modal, CATALOG, PLAN, MODEL, "US")
    [late] = deployment.spawned

    retry = run_partition(store, modal, CATALOG, PLAN, MODEL, "US", target_region="EU")
    assert retry.complete
    assert len(deployment.spawned) == 2  # not arrived: called again, in EU
    assert {r.served_region for r in retry.results} == {"EU"}
    # Every answer it was asked for is now stored: the late call can only cost, so it stops.
    assert late.cancelled
    states = dict(zip(*store.calls_frame(PLAN.audit_id)[["call_id", "state"]].T.values,
                      strict=True))
    assert states == {late.object_id: "superseded", deployment.spawned[1].object_id: "collected"}


def test_a_reply_that_arrived_is_collected_even_past_the_budget(store):
    clock = Clock()
    deployment = FakeDeployment(**{US_CLASS: {"late": True}})
    modal = backend(deployment, call_budget_s=10, clock=clock)
    run_partition(store, modal, CATALOG, PLAN, MODEL, "US")
    [late] = deployment.spawned
    assert not late.cancelled

    clock.now += 3600  # far past spawn + deadline + budget: Modal would have ended it
    late.arrive()
    deployment.handles[US_CLASS].late = False
    retry = run_partition(store, modal, CATALOG, PLAN, MODEL, "US")
    assert retry.complete
    assert len(deployment.spawned) == 1 and not late.cancelled  # an arrived reply is used


def test_an_expired_call_that_never_replied_is_cancelled_and_asked_again(store):
    clock = Clock()
    deployment = FakeDeployment(**{US_CLASS: {"late": True}})
    modal = backend(deployment, call_budget_s=10, clock=clock)
    run_partition(store, modal, CATALOG, PLAN, MODEL, "US")
    [late] = deployment.spawned

    clock.now += 3600
    deployment.handles[US_CLASS].late = False  # the next call answers on time
    retry = run_partition(store, modal, CATALOG, PLAN, MODEL, "US")
    assert retry.complete and late.cancelled and len(deployment.spawned) == 2
    states = store.calls_frame(PLAN.audit_id)["state"].tolist()
    assert states == ["cancelled", "collected"]


def test_at_the_deadline_a_call_past_its_budget_is_cancelled(store):
    deployment = FakeDeployment(**{US_CLASS: {"late": True}})
    clock = Clock()

    class SlowClock:  # each reading is 10 s later: the wait exceeds a 0 s budget
        def __call__(self):
            clock.now += 10
            return clock.now

    modal = backend(deployment, call_budget_s=0, clock=SlowClock())
    outcome = run_partition(store, modal, CATALOG, PLAN, MODEL, "US")
    assert not outcome.complete
    [call] = deployment.spawned
    assert call.cancelled
    assert "the call was cancelled" in outcome.failures[0].error_message
    assert store.calls_frame(PLAN.audit_id)["state"].tolist() == ["cancelled"]
