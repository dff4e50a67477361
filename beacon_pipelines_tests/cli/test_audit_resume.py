"""SIGKILL in the middle of an audit, then the same audit id again: nothing persisted is lost,
nothing persisted is asked again, the GPU slots of the dead runs come back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from beacon_pipelines.defs.gpu_pool import GPU_POOL
from beacon_pipelines.store import ExecutionStore, default_store_url
from beacon_pipelines_tests.conftest import cli_env
from beacon_pipelines_tests.support.audit_files import write_sim_config
from beacon_pipelines_tests.support.beacon_cli import beacon


@pytest.mark.integration
def test_sigkill_mid_partition_then_rerun_completes_with_one_success_per_execution(
    tmp_path, small_catalog, monkeypatch
):
    # 2 questions per partition, 1.2 s each: a kill lands inside partitions.
    sim = write_sim_config(tmp_path / "sim.yaml", latency={"per_call_s": 2.4})
    home = tmp_path / "home"
    args = ["audit", "--samples", "1", "--catalog", str(small_catalog), "--sim-config", str(sim),
            "--audit-id", "killed", "--out", str(tmp_path / "out")]
    audit = subprocess.Popen(
        [sys.executable, "-m", "beacon_pipelines.cli", *args],
        cwd=tmp_path,
        env=cli_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the CLI and its partition workers
    )
    store = ExecutionStore(default_store_url(home))
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if home.joinpath("beacon.db").exists() and len(store.succeeded_keys("killed")) >= 3:
            break
    os.killpg(audit.pid, signal.SIGKILL)
    audit.wait()
    before = store.executions_frame("killed")
    assert 3 <= (before["status"] == "succeeded").sum() < 18  # killed mid-audit

    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with DagsterInstance.get() as instance:
        stuck = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED]))
        assert stuck  # runs the kill left "started", holding GPU slots
        assert instance.event_log_storage.get_concurrency_info(GPU_POOL).claimed_slots

    # The rerun answers at once: what it is tested for is which answers it asks, not when.
    write_sim_config(tmp_path / "sim.yaml")
    rerun = beacon(args, cwd=tmp_path, home=home, timeout=240)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "whose worker died" in rerun.stdout

    after = store.executions_frame("killed")
    succeeded = after[after["status"] == "succeeded"]
    assert len(succeeded) == 18
    assert succeeded.groupby(["model", "region", "question_id", "sample"]).size().eq(1).all()
    # Every row written before the kill is still there, unchanged, and no execution that had
    # succeeded was sent to the backend again.
    kept = after.merge(before, on=list(before.columns), how="inner")
    assert len(kept) == len(before)
    done_before = set(
        before.loc[before["status"] == "succeeded", ["model", "region", "question_id"]]
        .itertuples(index=False, name=None)
    )
    new_rows = after.iloc[len(before):]
    assert not done_before & set(
        new_rows[["model", "region", "question_id"]].itertuples(index=False, name=None)
    )
    with DagsterInstance.get() as instance:
        info = instance.event_log_storage.get_concurrency_info(GPU_POOL)
        assert not info.claimed_slots and not info.pending_steps
        assert not instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED]))
