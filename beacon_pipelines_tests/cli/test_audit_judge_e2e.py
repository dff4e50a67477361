"""`beacon audit --judge openai` on a real persistent instance against a local HTTP server
playing the judge: correct, malformed, slow and throttled replies; one GPU cap over inference
and judge calls together; a resume after SIGKILL judges no answer twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import sqlalchemy as sa
from dagster import AssetKey, DagsterInstance

from beacon_pipelines.judge.prompt import load_prompt
from beacon_pipelines.store import ExecutionStore, default_store_url
from beacon_pipelines_tests.conftest import cli_env
from beacon_pipelines_tests.support.audit_files import write_sim_config
from beacon_pipelines_tests.support.beacon_cli import beacon
from beacon_pipelines_tests.support.judge_server import judge_replies, judged_data, verdict
from beacon_pipelines_tests.support.openai_server import FakeOpenAIServer, Scripted, answer_for

KEY = "sk-judge-e2e-secret-never-written-41c7"
JUDGE_MODEL = "judge-m"
SMALL = ["--models", "llama3.2-1b", "--regions", "US,EU", "--samples", "1"]


def judge_args(server: FakeOpenAIServer, *extra: str) -> list[str]:
    return ["--judge", "openai", "--judge-base-url", server.base_url,
            "--judge-model", JUDGE_MODEL, *extra]


def stored_judgements(home) -> pd.DataFrame:
    engine = sa.create_engine(default_store_url(home))
    try:
        with engine.connect() as conn:
            return pd.read_sql(sa.text("SELECT * FROM judgements"), conn)
    finally:
        engine.dispose()


def materializations(home, asset: str) -> dict[str, dict]:
    with DagsterInstance.get() as instance:
        records = instance.fetch_materializations(AssetKey(asset), limit=100).records
        return {
            r.partition_key: {k: v.value for k, v in r.asset_materialization.metadata.items()}
            for r in reversed(records)  # newest last: the newest of a partition wins
        }


@pytest.mark.integration
def test_a_judged_audit_uses_the_judges_classes_and_survives_bad_replies(
    tmp_path, monkeypatch
):
    def reply(question: str, answer: str) -> str:
        if "1989" in question:
            return "I would say this is an evasion."  # not a verdict: re-asked, then failed
        return verdict("evasion", "It changes the subject.")

    sim = write_sim_config(tmp_path / "sim.yaml")
    home = tmp_path / "home"
    with FakeOpenAIServer(api_key=KEY, answer=judge_replies(reply)) as judge:
        # The first calls are throttled, then too slow for --judge-timeout: both retried.
        judge.script.extend(
            [Scripted(status=429, headers={"Retry-After": "0"}), Scripted(delay_s=2.5)]
        )
        done = beacon(
            ["audit", *SMALL, "--questions", "math_basic,tiananmen_1989", "--sim-config",
             str(sim), "--audit-id", "judged", "--out", str(tmp_path / "out"),
             *judge_args(judge, "--judge-api-key-env", "BEACON_TEST_JUDGE_KEY",
                         "--judge-timeout", "1", "--judge-batch-size", "1")],
            cwd=tmp_path, home=home, extra_env={"BEACON_TEST_JUDGE_KEY": KEY},
        )
        requests = judge.chat_requests()
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert all(r["headers"]["Authorization"] == f"Bearer {KEY}" for r in requests)

    answers = pd.read_csv(tmp_path / "out" / "answers.csv")
    executions = pd.read_csv(tmp_path / "out" / "executions.csv")
    assert len(answers) == 4
    math = answers[answers["question_id"] == "math_basic"]
    asked_1989 = answers[answers["question_id"] == "tiananmen_1989"]
    # The judge's class where it gave one; the classifier's where its replies were unreadable.
    assert set(math["class_source"]) == {"judge"} and set(math["class"]) == {"partial_refusal"}
    assert set(asked_1989["class_source"]) == {"classifier"}
    assert (asked_1989["class"] == asked_1989["classifier_class"]).all()
    assert set(math["judge_status"]) == {"judged"}
    assert set(math["judge_reason"]) == {"It changes the subject."}
    assert set(asked_1989["judge_status"]) == {"judge_failed"}

    stored = stored_judgements(home).set_index("response_sha256")
    for row in executions.itertuples():
        judgement = stored.loc[row.response_sha256]
        expected = "judge_failed" if row.question_id == "tiananmen_1989" else "judged"
        assert judgement["status"] == expected and judgement["judge_model"] == JUDGE_MODEL
    # Each distinct answer asked, plus one retry after the 429, one after the timeout and one
    # more ask of each unreadable reply; at most once more each, by two partitions judging the
    # same answer at the same moment (nothing locks an answer across partitions).
    distinct = executions.drop_duplicates("response_sha256")
    unreadable = (distinct["question_id"] == "tiananmen_1989").sum()
    least = len(distinct) + 2 + unreadable
    assert least <= len(requests) <= least + len(distinct) + unreadable

    monkeypatch.setenv("DAGSTER_HOME", str(home))
    judged = materializations(home, "answer_judgements")
    assert set(judged) == {"llama3.2-1b|US", "llama3.2-1b|EU"}
    for metadata in judged.values():
        assert metadata["judge_kind"] == "openai" and metadata["judge_model"] == JUDGE_MODEL
        assert len(metadata["judge_prompt_sha256"]) == 64
        assert metadata["planned"] == metadata["reused"] + metadata["judged"] + metadata["failed"]
    assert sum(m["judged"] + m["reused"] for m in judged.values()) >= 2
    assert sum(m["failed"] for m in judged.values()) >= 1
    report = (tmp_path / "out" / "report.html").read_text()
    assert JUDGE_MODEL in report and load_prompt().sha256 in report
    analysis = materializations(home, "bias_analysis")["judged"]
    assert analysis["judge_model"] == JUDGE_MODEL and analysis["judge_failed"] == 2
    assert analysis["judge"]["judged"] == 2

    # `beacon report` re-renders with the same judgements, without asking the judge again.
    rerendered = beacon(["report", "judged", "--out", str(tmp_path / "again")], cwd=tmp_path,
                        home=home)
    assert rerendered.returncode == 0, rerendered.stderr
    again = pd.read_csv(tmp_path / "again" / "answers.csv")
    assert again[["class", "class_source"]].equals(answers[["class", "class_source"]])

    # The key travelled as an environment variable only: no file Beacon or Dagster wrote has it.
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


@pytest.mark.integration
def test_one_gpu_cap_holds_inference_and_judge_calls_together(tmp_path):
    """One server plays the inference backend and the judge: requests in flight at once, of
    either kind, never exceed the cap (one request per step: concurrency 1, judge batches 1)."""

    def answer(payload: dict) -> str:
        if payload["model"] == JUDGE_MODEL:
            judged_data(payload)
            return verdict("substantive", "It answers.")
        return answer_for(payload)

    home = tmp_path / "home"
    with FakeOpenAIServer(answer=answer) as server:
        server.default_delay_s = 0.3
        done = beacon(
            ["audit", "--models", "llama3.2-1b,qwen2.5-1.5b", "--regions", "US,EU",
             "--questions", "math_basic,tiananmen_1989", "--samples", "1", "--gpu-cap", "2",
             "--backend", "openai", "--openai-base-url", server.base_url,
             "--openai-concurrency", "1", "--batch-size", "1", "--out", str(tmp_path / "out"),
             *judge_args(server, "--judge-batch-size", "1")],
            cwd=tmp_path, home=home,
        )
        requests = server.chat_requests()
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    judge_calls = [r for r in requests if r["json"]["model"] == JUDGE_MODEL]
    assert len(requests) - len(judge_calls) == 8 and judge_calls
    assert server.max_in_flight <= 2
    answers = pd.read_csv(tmp_path / "out" / "answers.csv")
    assert set(answers["class_source"]) == {"judge"}


@pytest.mark.integration
def test_sigkill_mid_judging_then_resume_judges_no_answer_twice(tmp_path):
    def reply(question: str, answer: str) -> str:
        return verdict("substantive", "It answers.")

    sim = write_sim_config(tmp_path / "sim.yaml")
    home = tmp_path / "home"
    with FakeOpenAIServer(answer=judge_replies(reply)) as judge:
        judge.default_delay_s = 0.6  # slow enough to be killed mid-judging
        # One partition: two partitions may judge an answer they share at the same moment.
        args = ["audit", "--models", "llama3.2-1b", "--regions", "US", "--samples", "1",
                "--questions", "math_basic,tiananmen_1989,taiwan_status,hong_kong_2019",
                "--sim-config", str(sim), "--audit-id", "killed", "--out", str(tmp_path / "out"),
                *judge_args(judge, "--judge-batch-size", "1")]
        audit = subprocess.Popen(
            [sys.executable, "-m", "beacon_pipelines.cli", *args], cwd=tmp_path,
            env=cli_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the CLI and its workers
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if (home / "beacon.db").exists() and _judgement_count(home) >= 2:
                break
        os.killpg(audit.pid, signal.SIGKILL)
        audit.wait()
        before = stored_judgements(home)
        asked_before = len(judge.chat_requests())
        store = ExecutionStore(default_store_url(home))
        answers = store.executions_frame("killed", succeeded_only=True)
        store.dispose()
        assert 2 <= len(before) < answers["response_sha256"].nunique()  # killed mid-judging

        judge.default_delay_s = 0.0
        rerun = beacon(args, cwd=tmp_path, home=home)
        later = judge.chat_requests()[asked_before:]
        asked_after = [judged_data(r["json"])["answer"] for r in later]
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr[-3000:]
    after = stored_judgements(home)
    assert set(after["response_sha256"]) == set(answers["response_sha256"])
    assert set(after["status"]) == {"judged"}
    # Nothing judged before the kill was sent again, and nothing twice after it.
    judged_before = set(
        answers.loc[answers["response_sha256"].isin(before["response_sha256"]), "response"]
    )
    assert not judged_before & set(asked_after)
    assert len(asked_after) == len(set(asked_after))
    # Every judgement stored before the kill is still there, unchanged.
    kept = after.merge(before, on=list(before.columns), how="inner")
    assert len(kept) == len(before)


def _judgement_count(home) -> int:
    try:
        return len(stored_judgements(home))
    except sa.exc.DatabaseError:  # the table does not exist yet
        return 0
