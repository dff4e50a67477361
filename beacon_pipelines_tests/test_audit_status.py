"""The status rules, one fact at a time (audit_status.py is pure: no instance needed)."""

from __future__ import annotations

from beacon_pipelines.audit_status import (
    ANALYSIS,
    BARRIER_GRACE_S,
    CANCELLED,
    COMPLETE,
    FAILED,
    FINALIZING,
    INFERENCE,
    PLANNED,
    RUNNING,
    AuditFacts,
    RunFact,
    derive_status,
)
from beacon_pipelines.plan import AuditPlan

PLAN = AuditPlan("a1", "sha", "simulated", ("m",), ("US", "EU"), ("q1", "q2"))  # 4 executions
NOW = 1_000_000.0


def status(**facts):
    return derive_status(AuditFacts(plan=PLAN, **{"succeeded": 0, **facts}), NOW)


def run(kind=INFERENCE, status="STARTED", live=True, partition="m|US", ended_at=None, rid="r1"):
    return RunFact(rid, kind, status, live, partition, ended_at)


def test_planned_running_finalizing_complete():
    assert status().status == PLANNED
    assert status(runs=(run(status="QUEUED"),)).status == RUNNING
    assert status(succeeded=2, driver_alive=True).status == RUNNING
    assert status(succeeded=4, runs=(run(kind=ANALYSIS),)).status == FINALIZING
    assert status(succeeded=4, driver_alive=True).status == FINALIZING
    done = status(succeeded=4, report_at=NOW - 5, report_path="/r/report.html",
                  runs=(run(kind=ANALYSIS, status="SUCCESS", live=False),))
    assert (done.status, done.detail) == (COMPLETE, "report /r/report.html")


def test_a_run_whose_worker_died_is_not_running():
    dead = run(status="STARTED", live=False)
    result = status(succeeded=1, runs=(dead,))
    assert result.status == FAILED
    assert "3 of 4 executions missing" in result.detail and "m|US" in result.detail


def test_cancelled_once_nothing_runs_and_says_what_was_kept():
    asked = {"cancel_requested_at": NOW - 1, "cancel_reason": "beacon cancel", "succeeded": 3}
    assert status(runs=(run(),), **asked).status == RUNNING  # still stopping
    result = status(runs=(run(status="CANCELED", live=False),), **asked)
    assert result.status == CANCELLED
    assert "3 of 4 executions kept" in result.detail and "--audit-id a1" in result.detail


def test_every_answer_in_but_no_report():
    ended = run(status="SUCCESS", live=False, ended_at=NOW - 5)
    assert status(succeeded=4, runs=(ended,)).status == FINALIZING  # the barrier's turn
    late = run(status="SUCCESS", live=False, ended_at=NOW - BARRIER_GRACE_S - 1)
    assert status(succeeded=4, runs=(late,)).status == FAILED
    failed_analysis = run(kind=ANALYSIS, status="FAILURE", live=False, rid="analysis1")
    result = status(succeeded=4, runs=(failed_analysis, ended))
    assert result.status == FAILED and "analysis run analysis" in result.detail


def test_a_cancel_after_the_report_leaves_the_audit_complete():
    late = {"cancel_requested_at": NOW - 1, "report_at": NOW - 2, "succeeded": 4}
    assert status(**late).status == CANCELLED  # the report predates the request: a re-run
    assert status(**{**late, "report_at": NOW}).status == COMPLETE
