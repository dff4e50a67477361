"""The barrier decision on its own: what holds an audit back, and what identifies a state."""

from __future__ import annotations

from beacon_pipelines.completion import CLI_OWNER, AuditFacts, decide
from beacon_pipelines.plan import AuditPlan

PLAN = AuditPlan(
    audit_id="a1",
    catalog_sha256="0" * 64,
    backend="simulated",
    models=("m1", "m2"),
    regions=("US", "EU"),
    questions=("q1",),
)
PARTITIONS = [("m1", "US"), ("m1", "EU"), ("m2", "US"), ("m2", "EU")]
ALL_DONE = frozenset(PLAN.expected_keys())


def _facts(**overrides) -> AuditFacts:
    values = {
        "plan": PLAN,
        "succeeded": ALL_DONE,
        "materialized": {p: 10 + i for i, p in enumerate(PARTITIONS)},
    }
    values.update(overrides)
    return AuditFacts(**values)


def test_complete_audit_is_ready_and_its_state_is_the_newest_materialization():
    decision = decide(_facts())
    assert decision.ready and decision.reason == "all 4 partitions complete"
    assert decision.run_key == "a1@13"


def test_a_missing_execution_holds_it_back_even_when_every_partition_materialized():
    decision = decide(_facts(succeeded=ALL_DONE - {("m2", "EU", "q1", 0)}))
    assert not decision.ready and decision.reason == "1 executions not yet succeeded"


def test_unmaterialized_partitions_are_named():
    materialized = {("m1", "US"): 10, ("m1", "EU"): 11}
    decision = decide(_facts(materialized=materialized))
    assert not decision.ready
    assert decision.reason == "2 of 4 partitions complete; waiting for m2/EU, m2/US"


def test_every_partition_must_be_newer_than_the_last_analysis():
    wave = {("m1", "US"): 20, ("m1", "EU"): 21, ("m2", "US"): 12, ("m2", "EU"): 13}
    decision = decide(_facts(materialized=wave, last_analysis=15))
    assert not decision.ready
    assert decision.reason.startswith("2 of 4 partitions newer than the last analysis")
    assert decide(_facts(materialized={p: 30 for p in PARTITIONS}, last_analysis=15)).ready


def test_running_work_and_other_owners_hold_it_back():
    busy = decide(_facts(runs_in_flight=2))
    assert not busy.ready and busy.blocked_by_runs and busy.state == "13"
    cli = decide(_facts(analysed_elsewhere_by=CLI_OWNER))
    assert not cli.ready and not cli.blocked_by_runs and "beacon audit" in cli.reason
