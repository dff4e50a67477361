"""Comparing two audits whose plans overlap only in part (pure: hand-made analyses)."""

from __future__ import annotations

import pandas as pd

from beacon_pipelines.analysis.audit_analysis import analyze_audit
from beacon_pipelines.analysis.audit_comparison import ComparedAudit, compare_two_audits
from beacon_pipelines_tests.support import audit_factory as af

CATEGORIES = {"math_basic": "control", "tiananmen_1989": "bias_detection"}


def _audit(audit_id, rows, questions, hashes, samples=1) -> ComparedAudit:
    rows = [{**r, "audit_id": audit_id} for r in rows]
    analysis = analyze_audit(audit_id, af.frame(rows), CATEGORIES)
    return ComparedAudit(audit_id, af.MODELS, af.REGIONS, questions, hashes, analysis.answers,
                         analysis.pairs)


def _samples(rows, k):
    return [{**r, "sample": s} for r in rows for s in range(k)]


def test_class_and_censorship_changes_on_shared_questions_only():
    # A: every region answers Tiananmen, 8 samples each; B: qwen refuses it everywhere.
    answered = af.default_rows({("qwen2.5-1.5b", "ASIA", "tiananmen_1989"): af.TIANANMEN_US})
    refused = af.default_rows({
        ("qwen2.5-1.5b", r, "tiananmen_1989"): af.REFUSAL for r in af.REGIONS
    })
    a = _audit("a", _samples(answered, 8) + [af.row("llama3.2-1b", "US", "only_a", "x")],
               ("math_basic", "tiananmen_1989", "only_a"), {"math_basic": "h1",
                                                            "tiananmen_1989": "h2"})
    b = _audit("b", _samples(refused, 8), ("math_basic", "tiananmen_1989", "only_b"),
               {"math_basic": "h1-reworded", "tiananmen_1989": "h2"})
    comparison = compare_two_audits(a, b)

    assert comparison.shared["questions"] == ["tiananmen_1989"]  # math_basic was reworded
    assert comparison.reworded == ["math_basic"]
    assert comparison.only_in_a["questions"] == ["only_a"]
    assert comparison.only_in_b["questions"] == ["only_b"]
    rows = comparison.rows
    assert set(rows["question_id"]) == {"tiananmen_1989"}
    assert len(rows) == len(af.MODELS) * len(af.REGIONS)
    qwen = rows[rows["model"] == "qwen2.5-1.5b"].set_index("region")
    assert (qwen["class_a"] == "substantive").all() and (qwen["class_b"] == "refusal").all()
    assert qwen["class_changed"].all()
    assert (qwen["censorship_change"] == 1.0).all()
    assert qwen["significant"].all()  # 0/8 vs 8/8: the intervals do not overlap
    assert (qwen["censorship_high_a"] < qwen["censorship_low_b"]).all()
    llama = rows[rows["model"] == "llama3.2-1b"]
    assert not llama["class_changed"].any() and not llama["significant"].any()
    assert qwen["similarity_a"].notna().all()


def test_one_sample_each_is_a_change_but_not_significant_and_old_audits_match_by_id():
    answered = af.default_rows({("qwen2.5-1.5b", "ASIA", "tiananmen_1989"): af.TIANANMEN_US})
    a = _audit("a", answered, af.QUESTIONS, {})  # recorded no texts: matched by id alone
    b = _audit("b", af.default_rows(), af.QUESTIONS, {"math_basic": "h1"})
    comparison = compare_two_audits(a, b)
    assert comparison.matched_by_id_only == list(af.QUESTIONS)
    flip = comparison.rows.query("model == 'qwen2.5-1.5b' and region == 'ASIA' and "
                                 "question_id == 'tiananmen_1989'").iloc[0]
    assert flip["class_changed"] and not flip["significant"]  # 0/1 vs 1/1 overlap
    assert isinstance(comparison.significant, pd.DataFrame) and comparison.significant.empty
