"""`beacon` as a user runs it: a real subprocess over a real persistent instance."""

from __future__ import annotations

import pandas as pd
import pytest

from beacon_pipelines_tests.conftest import PROJECT_DIR
from beacon_pipelines_tests.support.beacon_cli import beacon


@pytest.fixture(scope="module")
def full_audit(tmp_path_factory):
    """One whole default audit (3 x 3 x 8), shared by the tests that read its results."""
    work = tmp_path_factory.mktemp("audit")
    home = work / ".dagster_home"
    result = beacon(["audit", "--audit-id", "cli-full"], cwd=work, home=home)
    return work, home, result


@pytest.mark.integration
def test_whole_audit_writes_the_three_files_with_360_succeeded_executions(full_audit):
    work, home, result = full_audit
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    report = work / "reports" / "cli-full" / "report.html"
    assert last == f"report: {report}"
    executions = pd.read_csv(report.parent / "executions.csv")
    succeeded = executions[executions["status"] == "succeeded"]
    assert len(succeeded) == 72 * 5  # 3 x 3 x 8, 5 samples (the default)
    # One success per execution, five executions (samples) per (model, region, question).
    assert succeeded.groupby(["model", "region", "question_id", "sample"]).size().eq(1).all()
    assert succeeded.groupby(["model", "region", "question_id"]).size().eq(5).all()
    assert executions["simulated"].all()
    analysis = pd.read_csv(report.parent / "analysis.csv")
    assert len(analysis) == 3 * 8
    page = report.read_text()
    assert "SIMULATED" in page and "cli-full" in page


@pytest.mark.integration
def test_runs_are_recorded_on_the_instance_for_the_ui(full_audit, monkeypatch):
    from dagster import DagsterInstance, RunsFilter

    _, home, result = full_audit
    assert result.returncode == 0
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with DagsterInstance.get() as instance:
        runs = instance.get_runs(RunsFilter(tags={"beacon/audit_id": "cli-full"}))
    jobs = sorted(r.job_name for r in runs)
    assert jobs == ["audit_analysis"] + ["audit_inference"] * 9
    assert all(r.is_success for r in runs)


@pytest.mark.integration
def test_executions_command_prints_and_exports(full_audit, tmp_path):
    work, home, _ = full_audit
    out = tmp_path / "rows.csv"
    result = beacon(["executions", "--audit-id", "cli-full", "--csv", str(out)], work, home)
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(out)) == 72 * 5
    printed = beacon(["executions", "--audit-id", "cli-full"], work, home)
    assert printed.returncode == 0 and "tiananmen_1989" in printed.stdout


@pytest.mark.integration
def test_rerun_with_same_audit_id_reuses_every_execution(full_audit):
    work, home, _ = full_audit
    result = beacon(["audit", "--audit-id", "cli-full"], cwd=work, home=home)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = pd.read_csv(work / "reports" / "cli-full" / "executions.csv")
    assert len(rows) == 72 * 5  # nothing asked again


@pytest.mark.parametrize(
    "args, message",
    [
        (["--models", "gpt-9"], "unknown model 'gpt-9'; the catalog has: llama3.2-1b"),
        (["--regions", "US,MARS"], "unknown region 'MARS'"),
        (["--questions", "nope"], "unknown question 'nope'"),
        (["--audit-id", "bad id!"], "audit id 'bad id!' is not valid"),
        (["--sim-config", "missing.yaml"], "missing.yaml: file not found"),
        (["--catalog", "missing.yaml"], "missing.yaml: file not found"),
    ],
)
@pytest.mark.integration
def test_bad_input_is_one_clear_line_and_nothing_is_written(tmp_path, args, message):
    home = tmp_path / ".dagster_home"
    result = beacon(["audit", *args], cwd=tmp_path, home=home, timeout=60)
    assert result.returncode == 2
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert not (tmp_path / "reports").exists()


@pytest.mark.integration
def test_audit_id_reused_with_another_plan_is_refused(full_audit):
    work, home, _ = full_audit
    result = beacon(["audit", "--audit-id", "cli-full", "--models", "mistral-7b"], work, home)
    assert result.returncode == 2
    assert "already exists with a different plan" in result.stderr


@pytest.mark.integration
def test_bad_catalog_via_cli(tmp_path):
    bad = tmp_path / "catalog.yaml"
    bad.write_text(
        (PROJECT_DIR / "beacon_pipelines/catalog/catalog.yaml")
        .read_text()
        .replace("id: EU", "id: 'E|U'")
    )
    result = beacon(["audit", "--catalog", str(bad)], tmp_path, tmp_path / "home", timeout=60)
    assert result.returncode == 2
    assert str(bad) in result.stderr and "regions[1]" in result.stderr and "'E|U'" in result.stderr


@pytest.mark.integration
def test_failed_partition_means_no_analysis_and_exit_1(tmp_path, small_catalog):
    sim = tmp_path / "sim.yaml"
    # Every region down: failover has nowhere to go.
    sim.write_text(
        "faults:\n" + "".join(f"  - {{kind: outage, region: {r}}}\n" for r in ("US", "EU", "ASIA"))
    )
    result = beacon(
        [
            "audit",
            "--catalog",
            str(small_catalog),
            "--sim-config",
            str(sim),
            "--models",
            "llama3.2-1b",
            "--regions",
            "US",
            "--audit-id",
            "down",
        ],
        tmp_path,
        tmp_path / "home",
    )
    assert result.returncode == 1
    assert "partitions failed: llama3.2-1b|US" in result.stderr
    assert "(llama3.2-1b, US, math_basic)" in result.stderr
    assert not (tmp_path / "reports").exists()
