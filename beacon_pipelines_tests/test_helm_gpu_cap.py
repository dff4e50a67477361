"""The GPU cap on Kubernetes: deploy/helm/values.yaml sets pools to `granularity: run`, so the
one daemon's run queue holds the cap, with the chart's stock Postgres event log storage (it
cannot select Beacon's pool-safe one).

The chart is rendered with `helm template` where helm and the chart are at hand; the cap is
shown on a real instance configured as the chart configures it (stock dagster-postgres
storage, QueuedRunCoordinator, the values' concurrency section), with a real daemon launching
nine competing partition runs. Only the run launcher differs: runs are local processes here,
Kubernetes Jobs there; the queue and the pool are the same code.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from beacon_pipelines.cli.audit_runner import AuditOptions, run_audit
from beacon_pipelines.plan import AuditInputError
from beacon_pipelines.store import ExecutionStore
from beacon_pipelines_tests.conftest import PROJECT_DIR
from beacon_pipelines_tests.postgres_fixtures import ADMIN_URL, database_url

HELM = yaml.safe_load((PROJECT_DIR / "deploy" / "helm" / "values.yaml").read_text())
CHART_VERSION = "1.13.27"
AUDIT_ID = "k8s-cap"
DAGSTER_DAEMON = Path(sys.executable).with_name("dagster-daemon")


def chart_instance_config(db_name: str) -> dict:
    """dagster.yaml as the chart renders it from our values (templates/helpers/instance/:
    storage from `postgresql`, the run coordinator from `dagsterDaemon.runCoordinator`,
    `concurrency` from `concurrency`), pointed at a test database, with local run processes."""
    pg, url = HELM["postgresql"], sa.engine.make_url(ADMIN_URL)
    queued = HELM["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    pools, runs = HELM["concurrency"]["pools"], HELM["concurrency"]["runs"]
    return {
        "storage": {
            "postgres": {
                "postgres_db": {
                    "username": url.username or "postgres",
                    "password": url.password or "unused-under-trust",
                    "hostname": url.host or "127.0.0.1",
                    "db_name": db_name,
                    "port": url.port or 5432,
                    "params": {},
                    "scheme": pg["postgresqlScheme"],
                }
            }
        },
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {"dequeue_interval_seconds": queued["dequeueIntervalSeconds"]},
        },
        "concurrency": {
            "pools": {"default_limit": pools["defaultLimit"], "granularity": pools["granularity"]},
            "runs": {
                "max_concurrent_runs": runs["maxConcurrentRuns"],
                "tag_concurrency_limits": runs["tagConcurrencyLimits"],
            },
        },
        "telemetry": {"enabled": False},
    }


def test_the_helm_values_put_the_gpu_cap_in_the_run_queue():
    assert HELM["concurrency"]["pools"]["granularity"] == "run"
    assert HELM["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert HELM["dagsterDaemon"]["runCoordinator"]["enabled"] is True


@pytest.mark.integration
def test_helm_template_renders_the_cap_into_the_instance_config(tmp_path):
    helm = shutil.which("helm")
    if helm is None:
        pytest.skip(
            "HELM NOT INSTALLED: `helm template` cannot render deploy/helm/values.yaml here "
            "(no helm package in this machine's registries); the chart's concurrency template "
            "is mirrored by chart_instance_config() and exercised by the daemon test below"
        )
    chart = os.environ.get("BEACON_DAGSTER_CHART") or "dagster/dagster"
    rendered = subprocess.run(
        [helm, "template", "beacon", chart, "--version", CHART_VERSION,
         "-f", str(PROJECT_DIR / "deploy" / "helm" / "values.yaml")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if rendered.returncode != 0 and "repo" in rendered.stderr.lower():
        pytest.skip(
            f"DAGSTER CHART NOT AVAILABLE: {rendered.stderr.strip()[:300]} (add it with `helm "
            "repo add dagster https://dagster-io.github.io/helm`, or set BEACON_DAGSTER_CHART "
            "to a local copy of the chart)"
        )
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    [instance_map] = [
        d for d in docs if d["kind"] == "ConfigMap" and "dagster.yaml" in d.get("data", {})
    ]
    instance = yaml.safe_load(instance_map["data"]["dagster.yaml"])
    assert instance["concurrency"]["pools"] == {"default_limit": 3, "granularity": "run"}
    assert instance["run_coordinator"]["class"] == "QueuedRunCoordinator"


def test_beacon_audit_refuses_an_instance_whose_pools_are_enforced_per_run(
    tmp_path, monkeypatch
):
    home = tmp_path / "home"
    home.mkdir()
    config = {"concurrency": {"pools": {"default_limit": 3, "granularity": "run"}}}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv("BEACON_STORE_URL", raising=False)
    with pytest.raises(AuditInputError, match="enforces its pools per run.*cap would not hold"):
        run_audit(AuditOptions(out_dir=tmp_path / "out", audit_id="refused"))
    assert sorted(p.name for p in home.iterdir()) == ["dagster.yaml"]  # nothing written
    assert not (tmp_path / "out").exists()


def _submit_partition_runs(instance, workspace_yaml: Path, sim: Path) -> list[str]:
    """Nine inference runs, one per partition, submitted to the queue at once, as the UI's
    launchpad or a job backfill would (Dagster's own `dagster job launch` path)."""
    from dagster._cli.job import _create_run
    from dagster._cli.workspace.cli_target import (
        WorkspaceOpts,
        get_code_location_from_workspace,
        get_remote_job_from_remote_repo,
        get_remote_repository_from_code_location,
        get_workspace_from_cli_opts,
    )
    from dagster.version import __version__

    from beacon_pipelines.catalog import load_catalog
    from beacon_pipelines.defs.jobs import INFERENCE_JOB
    from beacon_pipelines.defs.partitions import audit_partitions, partition_key
    from beacon_pipelines.defs.tags import AUDIT_ID_TAG

    catalog = load_catalog()
    partitions = audit_partitions(catalog)
    run_config = {"resources": {"backend": {"config": {"sim_config": str(sim)}}}}
    opts = WorkspaceOpts(workspace=(str(workspace_yaml),))
    run_ids = []
    with get_workspace_from_cli_opts(instance, version=__version__, workspace_opts=opts) as ws:
        location = get_code_location_from_workspace(ws, None)
        repo = get_remote_repository_from_code_location(location, None)
        job = get_remote_job_from_remote_repo(repo, INFERENCE_JOB)
        for model in catalog.model_ids:
            for region in catalog.region_ids:
                key = partition_key(model, region)
                tags = {**partitions.get_tags_for_partition_key(key), AUDIT_ID_TAG: AUDIT_ID}
                run = _create_run(
                    instance=instance, code_location=location, remote_repo=repo,
                    remote_job=job, run_config=run_config, tags=tags, op_selection=None,
                    run_id=None,
                )  # fmt: skip
                instance.submit_run(run.run_id, ws)
                run_ids.append(run.run_id)
    return run_ids


@pytest.mark.integration
def test_the_daemon_holds_the_cap_over_nine_competing_runs_with_the_stock_storage(
    tmp_path, new_database, monkeypatch
):
    from dagster import DagsterInstance, DagsterRunStatus

    from beacon_pipelines_tests.instance.test_audit_on_postgres import _inference_steps

    instance_db, store_db = new_database(), new_database()
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(chart_instance_config(instance_db)))
    workspace_yaml = tmp_path / "workspace.yaml"
    workspace_yaml.write_text(yaml.safe_dump({"load_from": [{"python_module": {
        "module_name": "beacon_pipelines.definitions", "working_directory": str(PROJECT_DIR),
    }}]}))  # fmt: skip
    sim = tmp_path / "sim.yaml"
    sim.write_text("latency: {per_call_s: 3}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACON_")}
    env.update(DAGSTER_HOME=str(home), BEACON_STORE_URL=database_url(store_db))
    for key in ("DAGSTER_HOME", "BEACON_STORE_URL"):
        monkeypatch.setenv(key, env[key])

    with DagsterInstance.get() as instance:
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"  # stock
        run_ids = _submit_partition_runs(instance, workspace_yaml, sim)
        assert all(
            instance.get_run_by_id(r).status == DagsterRunStatus.QUEUED for r in run_ids
        )
        daemon = subprocess.Popen(
            [str(DAGSTER_DAEMON), "run", "-w", str(workspace_yaml)], cwd=tmp_path, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 420
            while time.monotonic() < deadline:
                runs = [instance.get_run_by_id(r) for r in run_ids]
                if all(r.is_finished for r in runs):
                    break
                time.sleep(1)
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=60)
        runs = [instance.get_run_by_id(r) for r in run_ids]
        assert [r.status for r in runs] == [DagsterRunStatus.SUCCESS] * 9
        peak_steps, errors = _inference_steps(instance, run_ids)
        records = instance.get_run_records()
        intervals = [
            (r.start_time, r.end_time) for r in records if r.dagster_run.run_id in run_ids
        ]
    assert errors == []
    # The cap: never more than 3 inference steps (backend calls) in flight, and, since the
    # queue admits whole runs, never more than 3 partition runs in progress either.
    assert 1 <= peak_steps <= 3
    edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    in_progress = peak_runs = 0
    for _, delta in edges:
        in_progress += delta
        peak_runs = max(peak_runs, in_progress)
    assert peak_runs <= 3, intervals
    store = ExecutionStore(database_url(store_db))
    plan = store.get_audit(AUDIT_ID)
    assert store.succeeded_count(AUDIT_ID) == plan.execution_count > 0  # every partition answered
    store.dispose()
