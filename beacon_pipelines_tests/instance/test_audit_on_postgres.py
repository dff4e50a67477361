"""Beacon on Postgres end to end: the instance (dagster-postgres, deploy/dagster.postgres.yaml)
and the execution store on the same server, as README "Postgres" sets them up."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, RunsFilter, materialize

from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.defs.audit_graph import build_definitions
from beacon_pipelines.defs.partitions import ensure_audit_partition, partition_key
from beacon_pipelines.defs.resources import (
    ExecutionStoreResource,
    InferenceBackendResource,
    ReportSigningResource,
)
from beacon_pipelines.defs.tags import AUDIT_ID_TAG
from beacon_pipelines.store import ExecutionStore
from beacon_pipelines_tests.conftest import cli_env
from beacon_pipelines_tests.postgres_fixtures import (
    database_url,
    postgres_home,
    terminate_connections,
)

BEACON = Path(sys.executable).with_name("beacon")  # .venv/bin/beacon


@pytest.fixture
def pg_instance(tmp_path, new_database, monkeypatch):
    """A Dagster instance whose storage is Postgres, opened from its dagster.yaml."""
    env = postgres_home(tmp_path / "home", new_database())
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with DagsterInstance.get() as instance:
        yield instance


def test_the_instance_really_stores_in_postgres(pg_instance):
    assert type(pg_instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(pg_instance.event_log_storage).__name__ == "PoolSafePostgresEventLogStorage"
    assert pg_instance.event_log_storage.get_concurrency_info("gpu").limit == 3


def test_runs_starting_together_initialize_the_gpu_pool_once(pg_instance):
    """Each run that finds no limit asks to create it; the later ones must not fail (Dagster's
    own retry runs inside the aborted transaction on Postgres: InFailedSqlTransaction)."""
    storage = pg_instance.event_log_storage
    assert storage.initialize_concurrency_limit_to_default("gpu")
    assert storage.initialize_concurrency_limit_to_default("gpu")
    info = storage.get_concurrency_info("gpu")
    assert info.slot_count == 3 and info.limit == 3


def test_the_analysis_refuses_a_partial_audit_on_postgres(
    pg_instance, pg_url, small_catalog, tmp_path
):
    catalog = load_catalog(small_catalog)
    defs = build_definitions(catalog)
    inference, analysis, report = (
        defs.get_assets_def(k) for k in ("inference_responses", "bias_analysis", "bias_report")
    )
    resources = {
        "store": ExecutionStoreResource(url=pg_url),
        "backend": InferenceBackendResource(),
        "signing": ReportSigningResource(),
    }
    tags = {AUDIT_ID_TAG: "pg-partial"}
    assert materialize(
        [inference],
        partition_key=partition_key("qwen2.5-1.5b", "ASIA"),
        instance=pg_instance,
        resources=resources,
        tags=tags,
    ).success
    ensure_audit_partition(pg_instance, "pg-partial")
    result = materialize(
        [analysis, report],
        partition_key="pg-partial",
        instance=pg_instance,
        resources=resources,
        tags=tags,
        run_config={"ops": {"bias_report": {"config": {"out_dir": str(tmp_path / "out")}}}},
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "incomplete: 16 of 18 executions missing" in message
    assert "(llama3.2-1b, US, math_basic)" in message
    assert not (tmp_path / "out").exists()
    rows = ExecutionStore(pg_url).executions_frame("pg-partial")
    assert len(rows) == 2 and set(rows["status"]) == {"succeeded"}


def _inference_steps(instance, run_ids) -> tuple[int, list[str]]:
    """From the instance's event log: the most inference steps in flight at once, and the
    error of every step attempt that failed (a retry ends one attempt, its restart opens
    another)."""
    ends = {
        DagsterEventType.STEP_SUCCESS,
        DagsterEventType.STEP_FAILURE,
        DagsterEventType.STEP_UP_FOR_RETRY,
    }
    edges, errors = [], []
    for run_id in run_ids:
        for entry in instance.all_logs(run_id, of_type={DagsterEventType.STEP_START, *ends}):
            event = entry.dagster_event
            start = event.event_type == DagsterEventType.STEP_START
            edges.append((entry.timestamp, 1 if start else -1))
            if event.event_type != DagsterEventType.STEP_SUCCESS and not start:
                data = event.event_specific_data
                error = getattr(data, "error", None)
                while error is not None and error.cause is not None:  # past the retry wrapper
                    error = error.cause
                errors.append(error.message.strip() if error else str(event.event_type))
    in_flight = peak = 0
    for _, delta in sorted(edges):  # ends (-1) first on a tie
        in_flight += delta
        peak = max(peak, in_flight)
    return peak, errors


@pytest.mark.integration
def test_a_whole_cli_audit_on_postgres_survives_its_store_connections_being_cut(
    tmp_path, small_catalog, new_database, pg_admin, monkeypatch
):
    instance_db, store_db = new_database(), new_database()
    store_url = database_url(store_db)
    env = cli_env(tmp_path / "home")
    env.update(postgres_home(tmp_path / "home", instance_db), BEACON_STORE_URL=store_url)
    sim = tmp_path / "sim.yaml"
    # Each partition's call lasts 1.5 s, so the cuts below land while partitions write.
    sim.write_text("latency: {per_call_s: 1.5}\n")
    command = [
        str(BEACON), "audit", "--samples", "1",
        "--catalog", str(small_catalog), "--sim-config", str(sim),
        "--audit-id", "pg-e2e", "--out", str(tmp_path / "out"),
    ]  # fmt: skip
    audit = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    cuts = []

    def cut_store_connections():
        # Every 0.5 s, drop every connection to the store's database (workers and the CLI's
        # own polling): what a Postgres restart or failover does to its clients.
        while audit.poll() is None:
            cuts.append(terminate_connections(pg_admin, store_db))
            time.sleep(0.5)

    cutter = threading.Thread(target=cut_store_connections, daemon=True)
    cutter.start()
    try:
        stdout, stderr = audit.communicate(timeout=480)
    finally:
        audit.kill()
        cutter.join()
    assert audit.returncode == 0, stdout[-3000:] + stderr[-3000:]
    assert stdout.strip().splitlines()[-1] == f"report: {tmp_path / 'out' / 'report.html'}"
    assert sum(cuts) > 0, "no store connection was ever cut: the test proved nothing"

    # Every execution exactly once, in the Postgres store; nothing lost, nothing twice.
    rows = ExecutionStore(store_url).executions_frame("pg-e2e")
    succeeded = rows[rows["status"] == "succeeded"]
    assert len(succeeded) == 18
    assert succeeded.groupby(["model", "region", "question_id", "sample"]).size().eq(1).all()
    assert not rows.duplicated(["model", "region", "question_id", "sample", "attempt"]).any()

    # The runs are in the Postgres instance, for the UI, and the GPU cap held.
    for key in ("DAGSTER_HOME", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_HOST"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.setenv("DAGSTER_PG_DB", instance_db)
    with DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        runs = instance.get_runs(RunsFilter(tags={AUDIT_ID_TAG: "pg-e2e"}))
        inference_runs = [r.run_id for r in runs if r.job_name == "audit_inference"]
        assert sorted(r.job_name for r in runs) == ["audit_analysis"] + ["audit_inference"] * 9
        assert all(r.is_success for r in runs)
        peak, step_errors = _inference_steps(instance, inference_runs)
    # The cuts were absorbed by the store's retries: no step failed, none was retried.
    assert step_errors == []
    assert peak <= 3
