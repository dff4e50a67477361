"""Execution-only timeouts, retries with cross-region failover, permanent errors: each through
`beacon audit` on a real persistent instance, read back from executions.csv."""

from __future__ import annotations

import pytest

from beacon_pipelines.store import ExecutionStore, default_store_url
from beacon_pipelines_tests.support.audit_files import (
    partition_intervals,
    read_executions,
    write_sim_config,
)
from beacon_pipelines_tests.support.beacon_cli import beacon


def _audit(tmp_path, catalog, sim, *extra):
    """Run an audit (id "t") and return its result and every attempt, from executions.csv
    when the audit completed, else from the store."""
    home = tmp_path / "home"
    result = beacon(
        ["audit", "--samples", "1",
         "--catalog", str(catalog), "--sim-config", str(sim), "--audit-id", "t",
         "--out", str(tmp_path / "out"), *extra],
        cwd=tmp_path,
        home=home,
    )
    exported = tmp_path / "out" / "executions.csv"
    if exported.exists():
        return result, read_executions(exported)
    return result, ExecutionStore(default_store_url(home)).executions_frame("t")


@pytest.mark.integration
def test_time_waiting_for_a_gpu_slot_never_counts_against_the_execution_timeout(
    tmp_path, small_catalog
):
    """Cap 1, three 1.5 s partitions, a 2 s execution timeout: the last one waits > 2 s for
    the slot, then runs in 1.5 s and succeeds."""
    sim = write_sim_config(tmp_path / "sim.yaml", latency={"per_call_s": 1.5})
    result, executions = _audit(
        tmp_path, small_catalog, sim,
        "--models", "llama3.2-1b", "--gpu-cap", "1", "--execution-timeout", "2",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (executions["status"] == "succeeded").all() and len(executions) == 6
    intervals = partition_intervals(executions)
    waited = intervals["start"].iloc[-1] - intervals["start"].iloc[0]
    assert waited > 2.0  # queued longer than its whole execution budget


@pytest.mark.integration
def test_the_same_partition_past_its_execution_timeout_fails_as_timeout(tmp_path, small_catalog):
    """The control: a call that itself runs longer than the budget does time out (and, being
    retryable, is retried; every retry times out too)."""
    sim = write_sim_config(tmp_path / "sim.yaml", latency={"per_call_s": 1.5})
    result, executions = _audit(
        tmp_path, small_catalog, sim,
        "--models", "llama3.2-1b", "--regions", "US", "--execution-timeout", "1",
    )
    assert result.returncode == 1
    assert set(executions["error_type"]) == {"timeout"}
    assert executions["attempt"].max() == 4  # the first try and 3 retries


@pytest.mark.integration
def test_outage_fails_every_us_execution_over_to_the_next_region(tmp_path, small_catalog):
    sim = write_sim_config(tmp_path / "sim.yaml", faults=[{"kind": "outage", "region": "US"}])
    result, executions = _audit(tmp_path, small_catalog, sim)
    assert result.returncode == 0, result.stderr[-3000:]
    succeeded = executions[executions["status"] == "succeeded"]
    assert len(succeeded) == 18
    assert succeeded.groupby(["model", "region", "question_id"]).size().eq(1).all()
    us = executions[executions["requested_region"] == "US"]
    first, retried = us[us["attempt"] == 1], us[us["attempt"] == 2]
    assert (first["status"] == "failed").all() and (first["error_type"] == "unavailable").all()
    # The next region in the catalog's order answered, for US, as US (its prompt).
    assert (retried["status"] == "succeeded").all() and set(retried["served_region"]) == {"EU"}
    others = executions[executions["requested_region"] != "US"]
    assert (others["attempt"] == 1).all() and (others["served_region"] == others["region"]).all()


@pytest.mark.integration
def test_failover_order_from_the_cli(tmp_path, small_catalog):
    sim = write_sim_config(tmp_path / "sim.yaml", faults=[{"kind": "outage", "region": "US"}])
    result, executions = _audit(
        tmp_path, small_catalog, sim,
        "--models", "llama3.2-1b", "--regions", "US", "--failover", "US,ASIA,EU",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert set(executions.loc[executions["status"] == "succeeded", "served_region"]) == {"ASIA"}


@pytest.mark.integration
def test_permanent_errors_fail_at_once_without_retry(tmp_path, small_catalog):
    sim = write_sim_config(tmp_path / "sim.yaml", faults=[{"kind": "auth", "region": "EU"}])
    result, executions = _audit(
        tmp_path, small_catalog, sim, "--models", "llama3.2-1b"
    )
    assert result.returncode == 1
    assert "llama3.2-1b|EU" in result.stderr
    eu = executions[executions["region"] == "EU"]
    assert len(eu) == 2 and (eu["attempt"] == 1).all() and set(eu["error_type"]) == {"auth"}
    assert (executions.loc[executions["region"] != "EU", "status"] == "succeeded").all()
    log = (tmp_path / "home" / "logs" / "t" / "llama3.2-1b_EU.log").read_text()
    assert "permanent error, not retried" in log and "STEP_UP_FOR_RETRY" not in log
