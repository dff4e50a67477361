"""Execution KPIs from hand-made attempts: every rate's numerator and denominator."""

from __future__ import annotations

import pytest

from beacon_pipelines.analysis.kpis import MAX_TIMEOUT_RATE, execution_kpis, kpis_across
from beacon_pipelines_tests.support.frames import frame, row


def _attempt(region, question, attempt, status, start, end, served=None, error=None, run="r1",
             audit="a1"):
    values = row("m1", region, question, "answer", attempt=attempt, status=status, served=served)
    values.update(started_at=start, finished_at=end, latency_s=end - start, error_type=error,
                  run_id=run, audit_id=audit)
    return values


def test_rates_latency_gpu_seconds_and_makespan():
    executions = frame([
        # q1 in US: a timeout, then a success served in EU (a retry and a failover)
        _attempt("US", "q1", 1, "failed", 0.0, 2.0, error="timeout"),
        _attempt("US", "q1", 2, "succeeded", 3.0, 4.0, served="EU", run="r2"),
        _attempt("US", "q2", 1, "succeeded", 0.0, 1.0),
        _attempt("EU", "q1", 1, "succeeded", 0.5, 3.5),
    ])
    kpis = execution_kpis(executions)
    assert (kpis.attempts, kpis.executions) == (4, 3)
    assert kpis.execution_success_rate == pytest.approx(3 / 4)
    assert kpis.retry_rate == pytest.approx(1 / 3)
    assert kpis.failover_rate == pytest.approx(1 / 3)
    assert kpis.timeout_rate == pytest.approx(1 / 4)
    # calls: (r1, US, attempt 1) 0-2, (r2, US, attempt 2) 3-4, (r1, EU, attempt 1) 0.5-3.5
    assert kpis.gpu_seconds == pytest.approx(2 + 1 + 3)
    assert kpis.makespan_s == pytest.approx(4.0)
    assert kpis.latency_by_region["EU"]["n"] == 2  # served region: the failed-over one counts
    assert kpis.latency_by_region["US"] == {"p50_s": 1.0, "p95_s": 1.0, "n": 1}
    warnings = kpis.warnings()
    assert any("below 90%" in w for w in warnings)
    assert any(f"above {MAX_TIMEOUT_RATE:.0%}" in w for w in warnings)


def test_a_clean_audit_has_no_warnings_and_audits_pool():
    one = frame([_attempt("US", "q1", 1, "succeeded", 0.0, 1.0)])
    two = frame([_attempt("US", "q1", 1, "succeeded", 10.0, 13.0, audit="a2")])
    assert execution_kpis(one).warnings() == []
    pooled = kpis_across([one, two])
    assert pooled.audits == 2 and pooled.attempts == 2
    assert pooled.gpu_seconds == pytest.approx(4.0)
    assert pooled.makespan_s == pytest.approx(2.0)  # mean of 1 s and 3 s
    assert execution_kpis(frame([])).attempts == 0
