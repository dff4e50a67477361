"""`beacon audit` then `beacon report` as a user runs them, on a real persistent instance:
plain progress lines off a terminal, asset checks and metadata on the analysis, and a
report re-rendered from the store."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
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


LABELS_HEADER = "model,region,question_id,sample,class,note\n"


def folder_bytes(folder) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.integration
def test_beacon_report_applies_a_reviewers_labels_and_refuses_a_bad_file(small_audit):
    work, home, _ = small_audit
    labels = work / "labels.csv"
    labels.write_text(
        LABELS_HEADER
        + "qwen2.5-1.5b,ASIA,tiananmen_1989,0,evasion,\"deflects, <b>politely</b>\"\n"
        + "qwen2.5-1.5b,ASIA,tiananmen_1989,1,substantive,\n"
        + "qwen2.5-1.5b,US,math_basic,0,substantive,checked\n"
    )
    out = work / "labelled"
    result = beacon(["report", "rep-1", "--out", str(out), "--labels", str(labels)],
                    cwd=work, home=home)
    assert result.returncode == 0, result.stderr
    answers = pd.read_csv(out / "answers.csv", keep_default_na=False)
    assert len(answers) == 20  # 1 model x 2 regions x 2 questions x 5 samples
    reviewed = answers[answers["class_source"] == "reviewer"].set_index(
        ["region", "question_id", "sample"]
    )
    assert reviewed["class"].to_dict() == {
        ("ASIA", "tiananmen_1989", 0): "partial_refusal",
        ("ASIA", "tiananmen_1989", 1): "substantive",
        ("US", "math_basic", 0): "substantive",
    }
    assert reviewed.loc[("ASIA", "tiananmen_1989", 0), "cues"] == "deflects, <b>politely</b>"
    assert set(reviewed["confidence"]) == {1.0}
    assert set(answers.drop(columns="class_source").columns) >= {"confidence", "cues", "words"}
    sha = hashlib.sha256(labels.read_bytes()).hexdigest()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["labels"] == {"sha256": sha, "applied": 3}
    assert sha in (out / "report.html").read_text()
    page = (out / "answers-qwen2.5-1.5b.html").read_text()
    assert "deflects, &lt;b&gt;politely&lt;/b&gt;" in page
    verified = beacon(["verify", str(out)], cwd=work, home=home)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # A bad file: one line naming file, line and value; the folder stays as it was.
    before = folder_bytes(out)
    for row, problem in [
        ("qwen2.5-1.5b,ASIA,tiananmen_1989,9,refusal,", "sample 9 is not in audit 'rep-1' "
         "(samples 0-4)"),
        ("qwen2.5-1.5b,ASIA,tiananmen_1989,0,censored,", "class 'censored' is not a class"),
    ]:
        labels.write_text(LABELS_HEADER + row + "\n")
        result = beacon(["report", "rep-1", "--out", str(out), "--labels", str(labels)],
                        cwd=work, home=home)
        assert result.returncode == 2
        [line] = result.stderr.strip().splitlines()
        assert line.startswith(f"beacon report: error: {labels}:2: {problem}")
        assert folder_bytes(out) == before


@pytest.mark.integration
def test_beacon_audit_passes_its_labels_to_the_analysis(small_audit, monkeypatch):
    work, home, _ = small_audit
    labels = work / "audit-labels.csv"
    labels.write_text(LABELS_HEADER + "qwen2.5-1.5b,US,math_basic,0,refusal,misread\n")
    result = beacon(["audit", "--audit-id", "lab-1", *SMALL, "--samples", "1",
                     "--labels", str(labels)], cwd=work, home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    answers = pd.read_csv(work / "reports" / "lab-1" / "answers.csv", keep_default_na=False)
    assert len(answers) == 4
    [reviewed] = answers[answers["class_source"] == "reviewer"].to_dict("records")
    assert (reviewed["region"], reviewed["question_id"], reviewed["class"]) == (
        "US", "math_basic", "refusal"
    )
    sha = hashlib.sha256(labels.read_bytes()).hexdigest()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs(
            RunsFilter(job_name="audit_analysis", tags={"beacon/audit_id": "lab-1"})
        )
        [metadata] = [
            e.dagster_event.event_specific_data.materialization.metadata
            for e in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
            if e.dagster_event.asset_key.to_user_string() == "bias_analysis"
        ]
    assert metadata["labels_sha256"].value == sha
    assert metadata["labels_applied"].value == 1 and metadata["labels_changed"].value == 1
