"""`beacon audit --judge ...` checked before anything starts: one error line naming what is
wrong, exit 2, nothing written; --dry-run says which judge calls it would make."""

from __future__ import annotations

import pytest

from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.cli import main as cli
from beacon_pipelines.plan import build_plan
from beacon_pipelines.store import AuditJudge, ExecutionStore, default_store_url

JUDGE = ["--judge", "openai", "--judge-base-url", "http://127.0.0.1:9/v1"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    for name in ("BEACON_STORE_URL", "DAGSTER_PG_PASSWORD", "BEACON_TEST_JUDGE_KEY",
                 "MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize(
    "args, named",
    [
        (JUDGE, "--judge-model"),
        (["--judge", "openai", "--judge-model", "judge-m"], "--judge-base-url"),
        ([*JUDGE, "--judge-model", "judge-m", "--judge-api-key-env", "BEACON_TEST_JUDGE_KEY"],
         "BEACON_TEST_JUDGE_KEY"),
        (["--judge-model", "judge-m"], "--judge-model is an option of --judge"),
        (["--judge", "modal"], "MODAL_TOKEN_ID"),
    ],
)
def test_a_judge_missing_a_setting_is_refused_before_anything_is_written(
    home, tmp_path, capsys, args, named
):
    assert cli.main(["audit", *args]) == 2
    line = one_error_line(capsys)
    assert line.startswith("beacon audit: error: ") and named in line
    assert not home.exists() and not (tmp_path / "reports").exists()


def test_a_judged_audit_resumed_with_another_judge_is_refused(home, tmp_path, capsys):
    store = ExecutionStore(default_store_url(home)).create()
    planned = build_plan(load_catalog(), audit_id="judged", backend="simulated", samples=5)
    plan = store.register_audit(planned)
    store.set_audit_judge(plan.audit_id, AuditJudge("openai", "judge-a", "f" * 64))
    store.dispose()
    for judge in ([*JUDGE, "--judge-model", "judge-b"], []):
        assert cli.main(["audit", "--audit-id", "judged", *judge]) == 2
        line = one_error_line(capsys)
        assert "audit 'judged' is judged by openai judge 'judge-a'" in line
    assert not (home / "dagster.yaml").exists() and not (tmp_path / "reports").exists()


def test_the_dry_run_names_the_judge_and_its_calls(home, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BEACON_TEST_JUDGE_KEY", "sk-judge-never-printed")
    code = cli.main([
        "audit", "--dry-run", "--models", "llama3.2-1b", "--regions", "US,EU",
        "--questions", "math_basic", "--samples", "2", *JUDGE, "--judge-model", "judge-m",
        "--judge-api-key-env", "BEACON_TEST_JUDGE_KEY", "--judge-batch-size", "4",
    ])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "judge: openai model 'judge-m', POST http://127.0.0.1:9/v1/chat/completions" in out
    assert "up to 4 answers judged, 2 per partition" in out and "batches of 4" in out
    assert "$BEACON_TEST_JUDGE_KEY" in out and "sk-judge-never-printed" not in out
    assert not home.exists()
