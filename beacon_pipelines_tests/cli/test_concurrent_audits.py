"""Audits side by side on one instance, as users start them: real `beacon audit` processes."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from dagster import DagsterInstance

from beacon_pipelines_tests.conftest import cli_env
from beacon_pipelines_tests.support.openai_server import FakeOpenAIServer

# Four different plans: other models, regions, questions and sizes.
PLANS = {
    "mixA": ["--models", "llama3.2-1b", "--regions", "US", "--questions", "math_basic"],
    "mixB": [
        "--models", "qwen2.5-1.5b", "--regions", "EU,ASIA",
        "--questions", "tiananmen_1989,taiwan_status",
    ],
    "mixC": ["--models", "mistral-7b", "--regions", "ASIA", "--questions", "geography_basic"],
    "mixD": [
        "--models", "llama3.2-1b,qwen2.5-1.5b", "--regions", "US",
        "--questions", "hong_kong_2019",
    ],
}
ROUNDS = 3


def _start(args: list[str], cwd: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "beacon_pipelines.cli", "audit", "--samples", "1", *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _expected(args: list[str]) -> set[tuple[str, str, str]]:
    given = dict(zip(args[::2], args[1::2], strict=True))
    return {
        (m, r, q)
        for m in given["--models"].split(",")
        for r in given["--regions"].split(",")
        for q in given["--questions"].split(",")
    }


@pytest.fixture
def initialised_home(dagster_home):
    with DagsterInstance.get() as instance:  # an instance in use, as the issue reproduced it
        instance.get_runs(limit=1)
    return dagster_home


@pytest.mark.integration
def test_four_audits_at_once_each_report_holds_only_its_own_rows(initialised_home, tmp_path):
    env = cli_env(initialised_home)
    for round_number in range(ROUNDS):
        audits = {f"{name}-{round_number}": args for name, args in PLANS.items()}
        running = {
            audit_id: _start(
                ["--audit-id", audit_id, "--out", str(tmp_path / audit_id), *args], tmp_path, env
            )
            for audit_id, args in audits.items()
        }
        for audit_id, process in running.items():
            out, err = process.communicate(timeout=600)
            assert process.returncode == 0, f"{audit_id}: {out}{err}"
            assert f"report: {tmp_path / audit_id / 'report.html'}" in out
        for audit_id, args in audits.items():
            folder = tmp_path / audit_id
            executions = pd.read_csv(folder / "executions.csv")
            analysis = pd.read_csv(folder / "analysis.csv")
            assert set(executions["audit_id"]) == {audit_id}
            assert set(zip(executions.model, executions.region, executions.question_id,
                           strict=True)) == _expected(args)
            # One analysis row per (model, question): this audit's, none of another's.
            assert set(zip(analysis.model, analysis.question_id, strict=True)) == {
                (m, q) for m, _, q in _expected(args)
            }
            assert audit_id in (folder / "report.html").read_text()
            for other in set(audits) - {audit_id}:
                assert other not in (folder / "report.html").read_text()


@pytest.mark.integration
def test_the_same_audit_twice_at_once_asks_each_question_once(initialised_home, tmp_path):
    args = ["--models", "llama3.2-1b,qwen2.5-1.5b", "--regions", "US,EU",
            "--questions", "math_basic,tiananmen_1989,taiwan_status"]
    with FakeOpenAIServer(models=["llama3.2-1b", "qwen2.5-1.5b"]) as server:
        env = cli_env(initialised_home)
        common = ["--backend", "openai", "--openai-base-url", server.base_url,
                  "--openai-concurrency", "1", "--audit-id", "same", *args]
        # Replies slow enough that the two audits' partitions overlap.
        server.default_delay_s = 0.2
        first = _start([*common, "--out", str(tmp_path / "one")], tmp_path, env)
        second = _start([*common, "--out", str(tmp_path / "two")], tmp_path, env)
        results = [p.communicate(timeout=600) + (p.returncode,) for p in (first, second)]
        asked = Counter(
            (r["json"]["model"], r["json"]["messages"][0]["content"],
             r["json"]["messages"][-1]["content"])
            for r in server.chat_requests()
        )
    for out, err, code in results:
        assert code == 0, out + err
        assert "Traceback" not in err
    assert len(asked) == 12 and set(asked.values()) == {1}, asked
    for folder in ("one", "two"):
        executions = pd.read_csv(tmp_path / folder / "executions.csv")
        assert len(executions) == 12 and set(executions["status"]) == {"succeeded"}
        assert (executions["attempt"] == 1).all()  # no retry, no failover
    logs = "".join(p.read_text() for p in (initialised_home / "logs" / "same").glob("*.log"))
    assert "IntegrityError" not in logs and "failing over" not in logs
