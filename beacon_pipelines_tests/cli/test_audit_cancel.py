"""Cancelling a running audit, each of the three ways, on a real persistent instance: the whole
audit stops within 10 s, its runs end CANCELED with their GPU slots free, every stored answer
is kept, its status is `cancelled`, and the same audit id resumes it to one success per
execution."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from beacon_pipelines.defs.gpu_pool import GPU_POOL
from beacon_pipelines.defs.tags import AUDIT_ID_TAG, AUDIT_STATUS_TAG
from beacon_pipelines.store import ExecutionStore, default_store_url
from beacon_pipelines_tests.conftest import cli_env
from beacon_pipelines_tests.support.audit_files import write_sim_config
from beacon_pipelines_tests.support.beacon_cli import beacon, beacon_here

# 2 x 2 partitions of 2 questions, three partitions at once (the GPU cap). Batches of one, so
# each answer is stored as it ends (with the default batch a partition's answers are stored
# together, when its one call ends). Answers take 0.5 s a token: math_basic's (5 tokens) is
# stored within ~2.5 s, tiananmen_1989's (36-64 tokens) is still being written 18 s later, so
# the cancel lands mid-partition in each of the three running partitions, in the middle of an
# answer, whenever it comes in that window; the fourth partition never starts.
PLAN = ["--models", "llama3.2-1b,qwen2.5-1.5b", "--regions", "US,EU"]
EXECUTIONS = 8
STOP_WITHIN_S = 10.0
SLOW_SECOND_ANSWER = {"latency": {"per_token_s": 0.5}}


def _args(tmp_path: Path, catalog: Path, audit_id: str) -> list[str]:
    sim = write_sim_config(tmp_path / "sim.yaml", **SLOW_SECOND_ANSWER)
    return ["audit", "--samples", "1", "--batch-size", "1", "--catalog", str(catalog),
            "--sim-config", str(sim), *PLAN, "--audit-id", audit_id, "--out", str(tmp_path / "out")]


def _start(args: list[str], cwd: Path, home: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "beacon_pipelines.cli", *args],
        cwd=cwd, env=cli_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group, as a shell gives a foreground job
    )


def _until_some_answers(store: ExecutionStore, home: Path, audit_id: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if home.joinpath("beacon.db").exists() and len(store.succeeded_keys(audit_id)) >= 2:
            return
        time.sleep(0.1)
    raise AssertionError("the audit never got going")


def _status(home: Path, tmp_path: Path, audit_id: str, monkeypatch, capsys) -> dict:
    listed = beacon_here(["audits", "--json"], tmp_path, home, monkeypatch, capsys)
    assert listed.returncode == 0, listed.stderr
    return next(a for a in json.loads(listed.stdout) if a["audit_id"] == audit_id)


def _assert_stopped_and_resumable(tmp_path, home, store, audit_id, args, monkeypatch, capsys):
    before = store.executions_frame(audit_id)
    kept = int((before["status"] == "succeeded").sum())
    assert 2 <= kept < EXECUTIONS  # stopped mid-audit, answers kept
    per_partition = before[before["status"] == "succeeded"].groupby(["model", "region"]).size()
    assert (per_partition < 2).any()  # and mid-partition: a stopped partition kept its first
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with DagsterInstance.get() as instance:
        runs = instance.get_runs(RunsFilter(tags={AUDIT_ID_TAG: audit_id}))
        assert runs and all(r.is_finished for r in runs), [(r.run_id, r.status) for r in runs]
        assert any(r.status == DagsterRunStatus.CANCELED for r in runs)
        assert not any(r.status == DagsterRunStatus.FAILURE for r in runs)
        assert {r.tags.get(AUDIT_STATUS_TAG) for r in runs} == {"cancelled"}
        info = instance.event_log_storage.get_concurrency_info(GPU_POOL)
        assert not info.claimed_slots and not info.pending_steps
    status = _status(home, tmp_path, audit_id, monkeypatch, capsys)
    assert status["status"] == "cancelled"
    assert status["executions_succeeded"] == kept

    # The resume answers at once: what it is tested for is which answers it asks, not when.
    write_sim_config(tmp_path / "sim.yaml")
    rerun = beacon(args, cwd=tmp_path, home=home)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    after = store.executions_frame(audit_id)
    succeeded = after[after["status"] == "succeeded"]
    assert len(succeeded) == EXECUTIONS
    assert succeeded.groupby(["model", "region", "question_id", "sample"]).size().eq(1).all()
    assert len(after.merge(before, on=list(before.columns), how="inner")) == len(before)
    assert _status(home, tmp_path, audit_id, monkeypatch, capsys)["status"] == "complete"


@pytest.mark.integration
def test_beacon_cancel_from_another_process(tmp_path, small_catalog, monkeypatch, capsys):
    home, audit_id = tmp_path / "home", "cancel-cli"
    args = _args(tmp_path, small_catalog, audit_id)
    audit = _start(args, tmp_path, home)
    store = ExecutionStore(default_store_url(home))
    _until_some_answers(store, home, audit_id)
    assert _status(home, tmp_path, audit_id, monkeypatch, capsys)["status"] == "running"

    asked = time.monotonic()
    cancel = beacon(["cancel", audit_id], cwd=tmp_path, home=home, timeout=60)
    out, err = audit.communicate(timeout=60)
    stopped_in = time.monotonic() - asked
    assert cancel.returncode == 0, cancel.stderr
    assert f"audit {audit_id} cancelled" in cancel.stdout
    assert audit.returncode == 130, out + err
    assert "cancelled (beacon cancel)" in err
    assert stopped_in < STOP_WITHIN_S, stopped_in
    _assert_stopped_and_resumable(tmp_path, home, store, audit_id, args, monkeypatch, capsys)


@pytest.mark.integration
def test_ctrl_c_stops_the_whole_audit(tmp_path, small_catalog, monkeypatch, capsys):
    home, audit_id = tmp_path / "home", "cancel-sigint"
    args = _args(tmp_path, small_catalog, audit_id)
    audit = _start(args, tmp_path, home)
    store = ExecutionStore(default_store_url(home))
    _until_some_answers(store, home, audit_id)

    asked = time.monotonic()
    os.killpg(audit.pid, signal.SIGINT)  # Ctrl-C: the CLI and its workers at once
    out, err = audit.communicate(timeout=60)
    assert time.monotonic() - asked < STOP_WITHIN_S
    assert audit.returncode == 130, out + err
    assert "Ctrl-C" in err
    _assert_stopped_and_resumable(tmp_path, home, store, audit_id, args, monkeypatch, capsys)


@pytest.mark.integration
def test_terminating_one_run_as_the_ui_does_stops_the_whole_audit(
    tmp_path, small_catalog, monkeypatch, capsys
):
    home, audit_id = tmp_path / "home", "cancel-ui"
    args = _args(tmp_path, small_catalog, audit_id)
    audit = _start(args, tmp_path, home)
    store = ExecutionStore(default_store_url(home))
    _until_some_answers(store, home, audit_id)

    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with DagsterInstance.get() as instance:
        started = instance.get_runs(
            RunsFilter(tags={AUDIT_ID_TAG: audit_id}, statuses=[DagsterRunStatus.STARTED])
        )
        assert started
        asked = time.monotonic()
        # The UI's Terminate: the run coordinator marks the run CANCELING and asks the run
        # launcher, which cannot reach an in-process run (it returns False).
        instance.run_coordinator.cancel_run(started[0].run_id)
    out, err = audit.communicate(timeout=60)
    assert time.monotonic() - asked < STOP_WITHIN_S
    assert audit.returncode == 130, out + err
    assert "terminated (Dagster UI)" in err
    _assert_stopped_and_resumable(tmp_path, home, store, audit_id, args, monkeypatch, capsys)
