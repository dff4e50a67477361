"""`beacon audit` then `beacon report` as a user runs them, on a real persistent instance:
plain progress lines off a terminal, asset checks and metadata on the analysis, and a
report re-rendered from the store."""

from __future__ import annotations

import pytest
from dagster import DagsterEventType, DagsterInstance, RunsFilter

from beacon_pipelines.plan import AuditPlan
from beacon_pipelines.report.folder import report_files
from beacon_pipelines.store import ExecutionStore, default_store_url
from beacon_pipelines_tests.support.beacon_cli import beacon

SMALL = ["--models", "qwen2.5-1.5b", "--regions", "US,ASIA", "--questions",
         "math_basic,tiananmen_1989"]


@pytest.fixture(scope="module")
def small_audit(tmp_path_factory):
    work = tmp_path_factory.mktemp("report_cli")
    home = work / ".dagster_home"
    result = beacon(["audit", "--audit-id", "rep-1", *SMALL], cwd=work, home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    return work, home, result


@pytest.mark.integration
def test_audit_progress_off_a_terminal_is_plain_lines(small_audit):
    _, _, result = small_audit
    assert "\r" not in result.stdout and "\x1b" not in result.stdout
    progress = [line for line in result.stdout.splitlines() if "] partitions " in line]
    assert progress[-1].endswith("partitions 2/2 finished (0 failed), executions 20/20 succeeded")


@pytest.mark.integration
def test_the_analysis_run_records_checks_and_metadata_for_the_ui(small_audit, monkeypatch):
    _, home, _ = small_audit
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # the instance's storage resolves it
    with DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs(
            RunsFilter(job_name="audit_analysis", tags={"beacon/audit_id": "rep-1"})
        )
        checks = {
            e.dagster_event.event_specific_data.check_name: e.dagster_event.event_specific_data
            for e in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
        }
        [materialization] = [
            e.dagster_event.event_specific_data.materialization
            for e in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
            if e.dagster_event.asset_key.to_user_string() == "bias_analysis"
        ]
    assert sorted(checks) == [
        "control_questions_answered",
        "every_execution_present",
        "execution_kpis",
        "no_technical_failures_left",
    ]
    assert all(c.passed for c in checks.values())
    summary = materialization.metadata["summary"].value
    assert summary.startswith("**Audit rep-1**: overall risk **")
    assert "- censorship rate " in summary and "(95 % CI " in summary  # the headline figures
    findings = summary.split("**Key findings**")[1]
    assert any("qwen2.5-1.5b" in f and "tiananmen" in f for f in findings.splitlines())
    table = materialization.metadata["rates_table"]
    assert [c.name for c in table.schema.columns][:2] == ["model", "region"]
    assert len(table.records) == 2


@pytest.mark.integration
def test_beacon_report_rerenders_from_the_store(small_audit):
    work, home, _ = small_audit
    out = work / "again"
    result = beacon(["report", "rep-1", "--out", str(out)], cwd=work, home=home)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"report: {out / 'report.html'}"
    assert sorted(p.name for p in out.iterdir()) == sorted(report_files(["qwen2.5-1.5b"]))
    page = (out / "report.html").read_text()
    assert "rep-1" in page and "SIMULATED" in page and "beacon report (re-rendered" in page
    original = (work / "reports" / "rep-1" / "executions.csv").read_text()
    assert (out / "executions.csv").read_text() == original


@pytest.mark.integration
def test_beacon_report_of_an_unknown_audit_is_one_line_and_exit_2(small_audit):
    work, home, _ = small_audit
    result = beacon(["report", "no-such-audit"], cwd=work, home=home)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"beacon report: error: no audit 'no-such-audit' in {default_store_url(home)}"
    )
    assert not (work / "reports" / "no-such-audit").exists()


@pytest.mark.integration
def test_beacon_report_of_an_incomplete_audit_says_so_and_exits_1(small_audit):
    work, home, _ = small_audit
    store = ExecutionStore(default_store_url(home))
    store.register_audit(
        AuditPlan("rep-partial", "0" * 64, "simulated", ("qwen2.5-1.5b",), ("US",),
                  ("math_basic",), created_at=1.0)
    )
    store.dispose()
    result = beacon(["report", "rep-partial"], cwd=work, home=home)
    assert result.returncode == 1
    assert "audit 'rep-partial' is incomplete: 1 of 1 executions missing" in result.stderr
    assert not (work / "reports" / "rep-partial").exists()
