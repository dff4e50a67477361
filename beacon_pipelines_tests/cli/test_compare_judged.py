"""`beacon compare` of judged audits: the judge's classes only when one judge and prompt
classified both audits; otherwise the classifier's for both, and the command says which."""

from __future__ import annotations

import pandas as pd

from beacon_pipelines.analysis.response_class import ResponseClass
from beacon_pipelines.backends.simulated import SimulatedBackend
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.cli import main as cli
from beacon_pipelines.execution import partition_requests
from beacon_pipelines.judge.verdict import JUDGED, JudgeVerdict
from beacon_pipelines.judgement_store import JudgementStore
from beacon_pipelines.plan import AuditPlan
from beacon_pipelines.store import AuditJudge

MODEL, REGIONS, QUESTIONS = "llama3.2-1b", ("US", "EU"), ("math_basic", "tiananmen_1989")
PROMPT = "0" * 64


def _answered_audit(store, audit_id: str, created_at: float) -> set[str]:
    """A complete audit of simulated answers; the sha256s of its answers."""
    catalog = load_catalog()
    plan = store.register_audit(
        AuditPlan(audit_id, catalog.sha256(), "simulated", (MODEL,), REGIONS, QUESTIONS,
                  created_at=created_at)
    )  # fmt: skip
    shas = set()
    for region in REGIONS:
        requests, _ = partition_requests(catalog, plan, MODEL, region, region, attempts={})
        for result in SimulatedBackend().generate(requests):
            store.record(result, "simulated")
            shas.add(result.response_sha256)
    return shas


def _judge_all(store, audit_id: str, shas: set[str], model: str, judge_class: ResponseClass):
    store.set_audit_judge(audit_id, AuditJudge("openai", model, PROMPT))
    JudgementStore.over(store).create().record_many(
        [JudgeVerdict(s, judge_class, "test judge", JUDGED, 1) for s in sorted(shas)],
        model, PROMPT, judge_kind="openai",
    )


def _compare(tmp_path, capsys) -> tuple[pd.DataFrame, str]:
    capsys.readouterr()
    out = tmp_path / "cmp"
    assert cli.main(["compare", "a1", "a2", "--out", str(out)]) == 0
    return pd.read_csv(out / "comparison.csv"), capsys.readouterr().out


def test_one_judge_for_both_audits_compares_the_judges_classes(
    store, dagster_home, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("BEACON_STORE_URL", str(store.engine.url))
    for audit_id, at in (("a1", 1.0), ("a2", 2.0)):
        _judge_all(store, audit_id, _answered_audit(store, audit_id, at), "judge-x",
                   ResponseClass.REFUSAL)
    rows, printed = _compare(tmp_path, capsys)
    assert set(rows["class_a"]) == set(rows["class_b"]) == {"refusal"}
    assert "classes: LLM judge judge-x" in printed


def test_audits_judged_differently_compare_the_classifiers_classes(
    store, dagster_home, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("BEACON_STORE_URL", str(store.engine.url))
    _judge_all(store, "a1", _answered_audit(store, "a1", 1.0), "judge-x", ResponseClass.REFUSAL)
    _answered_audit(store, "a2", 2.0)  # not judged
    rows, printed = _compare(tmp_path, capsys)
    # The simulated answers to these two questions are substantive to the classifier.
    assert "refusal" not in set(rows["class_a"])
    assert "classes: the classifier's for both audits" in printed
