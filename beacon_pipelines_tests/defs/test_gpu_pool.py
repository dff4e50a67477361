"""The GPU cap on a real persistent instance: never more backend calls in flight than the
pool allows, whoever launched the runs, and never fewer when work is waiting."""

from __future__ import annotations

import subprocess
import sys

import pytest
from dagster import DagsterInstance, RunsFilter

from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.defs.gpu_pool import GPU_POOL
from beacon_pipelines.store import ExecutionStore
from beacon_pipelines_tests.conftest import cli_env
from beacon_pipelines_tests.support.audit_files import (
    partition_intervals,
    peak_overlap,
    read_executions,
    write_sim_config,
)
from beacon_pipelines_tests.support.beacon_cli import beacon


@pytest.mark.integration
def test_nine_untagged_runs_never_exceed_the_cap_and_fill_it(dagster_home, small_catalog, tmp_path):
    """Nine plain `materialize` runs in nine processes, without any Beacon tag: run-tag limits
    cannot see them, the pool on the step must hold them to 3 and still run 3 at once."""
    sim = write_sim_config(tmp_path / "sim.yaml", latency={"per_call_s": 1.5})
    store_url = f"sqlite:///{tmp_path / 'beacon.db'}"
    env = cli_env(dagster_home, BEACON_STORE_URL=store_url, BEACON_CATALOG=str(small_catalog))
    catalog = load_catalog(small_catalog)
    with DagsterInstance.get() as instance:
        # The instance exists before its runs do, as it does for any UI user (nine processes
        # creating a brand-new SQLite instance at once race on its schema, not on the pool).
        instance.get_runs(limit=1)
        instance.schedule_storage.all_instigator_state()
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "beacon_pipelines_tests.support.untagged_partition",
                model,
                region,
                str(sim),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for model in catalog.model_ids
        for region in catalog.region_ids
    ]
    outputs = [w.communicate(timeout=240)[0].decode() for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs[0][-2000:]

    store = ExecutionStore(store_url)
    frames = [store.executions_frame(plan.audit_id) for plan in store.list_audits()]
    assert len(frames) == 9  # every untagged run is an audit of its own
    import pandas as pd

    intervals = partition_intervals(pd.concat(frames))
    assert len(intervals) == 9
    assert peak_overlap(intervals) == 3
    with DagsterInstance.get() as instance:
        info = instance.event_log_storage.get_concurrency_info(GPU_POOL)
        assert info.slot_count == 3 and not info.claimed_slots and not info.pending_steps


@pytest.mark.integration
def test_gpu_cap_flag_persists_and_bounds_the_audit(tmp_path, small_catalog, monkeypatch):
    """`beacon audit --gpu-cap 2` with 1 s calls: executions.csv shows 2 partitions at once,
    never 3, and the limit stays on the instance for runs launched later from the UI."""
    sim = write_sim_config(tmp_path / "sim.yaml", latency={"per_call_s": 1.0})
    home = tmp_path / "home"
    result = beacon(
        ["audit", "--catalog", str(small_catalog), "--sim-config", str(sim), "--gpu-cap", "2",
         "--audit-id", "capped", "--out", str(tmp_path / "out")],
        cwd=tmp_path,
        home=home,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    intervals = partition_intervals(read_executions(tmp_path / "out" / "executions.csv"))
    assert len(intervals) == 9
    assert peak_overlap(intervals) == 2
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with DagsterInstance.get() as instance:
        assert instance.event_log_storage.get_concurrency_info(GPU_POOL).slot_count == 2
        # The barrier in the CLI: the analysis run started after the last answer was stored.
        [analysis] = instance.get_runs(
            RunsFilter(job_name="audit_analysis", tags={"beacon/audit_id": "capped"})
        )
        started = instance.get_run_record_by_id(analysis.run_id).start_time
    assert started > intervals["end"].max()


@pytest.mark.integration
def test_gpu_cap_must_be_positive(tmp_path):
    result = beacon(["audit", "--gpu-cap", "0"], cwd=tmp_path, home=tmp_path / "home")
    assert result.returncode == 2
    assert "--gpu-cap" in result.stderr and "'0'" in result.stderr
    assert not (tmp_path / "home").exists()
