"""The deployment examples stay valid and in step with dagster.yaml: the Postgres instance
config (deploy/dagster.postgres.yaml), the Helm values (deploy/helm/values.yaml), `make dev`."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from beacon_pipelines_tests.conftest import PROJECT_DIR

LOCAL = yaml.safe_load((PROJECT_DIR / "dagster.yaml").read_text())
POSTGRES = yaml.safe_load((PROJECT_DIR / "deploy" / "dagster.postgres.yaml").read_text())
HELM = yaml.safe_load((PROJECT_DIR / "deploy" / "helm" / "values.yaml").read_text())


def test_the_postgres_instance_config_has_the_same_cap_queue_and_monitoring():
    for section in ("concurrency", "run_queue", "run_monitoring", "telemetry"):
        assert POSTGRES[section] == LOCAL[section], section


def test_the_postgres_instance_config_is_valid_and_takes_credentials_from_the_environment(
    tmp_path,
):
    from dagster._core.instance.config import dagster_instance_config

    storages = ("run_storage", "event_log_storage", "schedule_storage")
    db = POSTGRES["run_storage"]["config"]["postgres_db"]
    assert all(POSTGRES[s]["config"]["postgres_db"] == db for s in storages)
    assert POSTGRES["event_log_storage"]["class"] == "PoolSafePostgresEventLogStorage"
    for field in ("username", "password", "hostname", "db_name"):
        assert set(db[field]) == {"env"}, f"{field} must come from an env var"
    shutil.copy(PROJECT_DIR / "deploy" / "dagster.postgres.yaml", tmp_path / "dagster.yaml")
    dagster_instance_config(str(tmp_path))  # Dagster's own schema check: raises when invalid


def test_the_helm_values_run_beacon_on_postgres_with_k8s_runs_and_the_same_gpu_cap():
    assert HELM["runLauncher"]["type"] == "K8sRunLauncher"
    pg = HELM["postgresql"]
    assert pg["enabled"] is False and pg["postgresqlPassword"] == ""
    assert pg["postgresqlScheme"] == POSTGRES["run_storage"]["config"]["postgres_db"]["scheme"]
    assert HELM["generatePostgresqlPasswordSecret"] is False
    [deployment] = HELM["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", "beacon_pipelines.definitions"]
    assert (PROJECT_DIR / "beacon_pipelines" / "definitions.py").exists()
    assert deployment["envSecrets"] == [{"name": "beacon-secrets"}]

    pools, runs = HELM["concurrency"]["pools"], HELM["concurrency"]["runs"]
    assert pools["defaultLimit"] == LOCAL["concurrency"]["pools"]["default_limit"]
    # Locally the pool-safe event log holds the cap per step; the chart cannot select it, so
    # there the run queue holds it per run (test_helm_gpu_cap.py).
    assert (LOCAL["concurrency"]["pools"]["granularity"], pools["granularity"]) == ("op", "run")
    assert runs["maxConcurrentRuns"] == LOCAL["concurrency"]["runs"]["max_concurrent_runs"]
    assert runs["tagConcurrencyLimits"] == LOCAL["concurrency"]["runs"]["tag_concurrency_limits"]
    queued = HELM["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queued["dequeueIntervalSeconds"] == LOCAL["run_queue"]["dequeue_interval_seconds"]
    monitoring = HELM["dagsterDaemon"]["runMonitoring"]
    assert (
        monitoring["freeSlotsAfterRunEndSeconds"]
        == LOCAL["run_monitoring"]["free_slots_after_run_end_seconds"]
    )


@pytest.mark.integration
def test_make_dev_serves_the_ui_on_loopback_unless_told_otherwise():
    def dg_dev_line(*args: str) -> str:
        out = subprocess.run(
            ["make", "-n", "dev", *args], cwd=PROJECT_DIR, capture_output=True, text=True
        ).stdout
        return next(line for line in out.splitlines() if "dg dev" in line)

    assert " --host 127.0.0.1 " in dg_dev_line()
    assert " --host 0.0.0.0 " in dg_dev_line("DEV_HOST=0.0.0.0")
