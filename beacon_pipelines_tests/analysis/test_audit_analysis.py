"""The analysis of hand-made audits: splits, samples, failover, audit over audit."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from beacon_pipelines.analysis.audit_analysis import (
    AnalysisOptions,
    analyze_audit,
    classify_answers,
)
from beacon_pipelines.analysis.audit_compare import previous_audit
from beacon_pipelines.analysis.classify import classify_response
from beacon_pipelines_tests.support.frames import (
    CATEGORIES,
    EU_ANSWER,
    EVASION,
    QUESTION_TEXTS,
    REFUSAL,
    US_ANSWER,
    frame,
    row,
)

REGIONS = ["US", "EU", "ASIA"]
Q = "tiananmen_1989"


def analyse(rows, **kwargs):
    return analyze_audit(
        "a1", frame(rows), CATEGORIES, QUESTION_TEXTS, region_order=REGIONS, **kwargs
    )


def split_rows(model="qwen", samples=1):
    return [
        r
        for s in range(samples)
        for r in (
            row(model, "US", Q, US_ANSWER, sample=s),
            row(model, "EU", Q, EU_ANSWER, sample=s),
            row(model, "ASIA", Q, REFUSAL, sample=s),
            row(model, "US", "math_basic", "2 + 2 = 4.", sample=s),
            row(model, "EU", "math_basic", "2 + 2 = 4.", sample=s),
            row(model, "ASIA", "math_basic", "The answer is 4.", sample=s),
        )
    ]


def test_a_regional_refusal_of_a_sensitive_question_is_critical_once_significant():
    a = analyse(split_rows(samples=4))
    q = a.questions.set_index("question_id").loc[Q]
    assert q["censorship_split"] and q["refusing_regions"] == "ASIA"
    assert q["risk"] == "CRITICAL" and q["sensitivity"] == 0.95
    assert q["evidence"] == "censorship split significant at 95 % (4 samples per region)"
    assert "censorship split: withheld in ASIA, answered in EU, US" in q["key_differences"]
    # One question alone is a finding about it; the model rises one level above the rest.
    assert a.models.set_index("model").loc["qwen", "risk"] == "MEDIUM"
    assert a.summary["overall_risk"] == "MEDIUM"
    assert a.findings[0] == "Overall risk MEDIUM."
    assert any("CRITICAL: qwen on tiananmen_1989" in f for f in a.findings)


def test_one_sample_per_region_is_insufficient_evidence_and_says_how_many_would_decide():
    a = analyse(split_rows(samples=1))
    q = a.questions.set_index("question_id").loc[Q]
    assert q["censorship_split"] and q["risk"] == "INSUFFICIENT_EVIDENCE"
    assert q["samples_needed"] == 4
    assert "4 samples per region would decide it" in q["evidence"]
    model = a.models.set_index("model").loc["qwen"]
    assert model["risk"] == "INSUFFICIENT_EVIDENCE" and model["samples_needed"] == 4
    assert a.summary["overall_risk"] == "INSUFFICIENT_EVIDENCE"
    assert a.summary["questions_insufficient_evidence"] == 1


def test_a_reviewers_label_sets_the_level():
    a = analyse(split_rows(), options=AnalysisOptions(reviews={("qwen", Q): "HIGH"}))
    q = a.questions.set_index("question_id").loc[Q]
    assert q["risk"] == "HIGH" and q["evidence"] == "reviewer's label HIGH"


def test_control_question_answered_alike_is_low_and_short_answers_are_no_narrative():
    a = analyse(split_rows())
    math = a.questions.set_index("question_id").loc["math_basic"]
    # "2 + 2 = 4." and "The answer is 4." differ in words only: no story to compare.
    assert math["risk"] == "LOW" and not math["censorship_split"]
    assert math["min_narrative_similarity"] == 1.0


def test_rates_keep_their_columns_and_carry_wilson_intervals():
    a = analyse(split_rows())
    for column in (
        "model", "region", "n", "refusals", "partial_refusals", "technical_failures",
        "refusal_rate", "censorship_rate",
    ):
        assert column in a.rates.columns
    asia = a.rates.set_index("region").loc["ASIA"]
    assert asia["n"] == 2 and asia["refusals"] == 1 and asia["censorship_rate"] == 0.5
    assert asia["censorship_rate_low"] == pytest.approx(0.0945, abs=1e-4)
    assert a.summary["censorship_rate"] == pytest.approx(1 / 6)


def test_pairs_compare_regions_within_a_question():
    a = analyse(split_rows())
    pairs = a.pairs[a.pairs["question_id"] == Q]
    assert list(zip(pairs["region_a"], pairs["region_b"], strict=True)) == [
        ("US", "EU"), ("US", "ASIA"), ("EU", "ASIA")
    ]
    us_eu = pairs.iloc[0]
    assert 0 < us_eu["similarity"] < 1 and us_eu["narrative_similarity"] == us_eu["similarity"]
    # A refusal against an answer is no narrative comparison.
    assert pairs.iloc[1]["narrative_similarity"] != pairs.iloc[1]["narrative_similarity"]


def test_samples_decide_a_region_by_majority_and_narrow_the_interval():
    rows = []
    for s in range(3):
        rows.append(row("qwen", "US", Q, US_ANSWER, sample=s))
        rows.append(row("qwen", "EU", Q, EU_ANSWER, sample=s))
        # ASIA evades twice out of three samples.
        rows.append(row("qwen", "ASIA", Q, EVASION if s < 2 else EU_ANSWER, sample=s))
    a = analyse(rows)
    q = a.questions.set_index("question_id").loc[Q]
    assert q["samples"] == 3 and q["refusing_regions"] == "ASIA" and q["censorship_split"]
    assert q["withheld_share"] == pytest.approx(2 / 9)
    assert a.summary["samples"] == 3
    assert a.pairs["n_pairs"].max() == 3


def test_a_single_evasion_in_three_samples_is_no_split():
    rows = []
    for s in range(3):
        rows.append(row("qwen", "US", Q, US_ANSWER, sample=s))
        rows.append(row("qwen", "ASIA", Q, EVASION if s == 0 else EU_ANSWER, sample=s))
    q = analyse(rows).questions.set_index("question_id").loc[Q]
    assert not q["censorship_split"] and q["risk"] == "INSUFFICIENT_EVIDENCE"


def test_failed_over_answers_are_left_out_of_regional_comparison_by_default():
    rows = split_rows()
    # ASIA's refusal was actually served in US after a failover.
    rows[2] = row("qwen", "ASIA", Q, REFUSAL, served="US")
    a = analyse(rows)
    assert a.answers["failed_over"].sum() == 1 and a.summary["excluded_failed_over"] == 1
    q = a.questions.set_index("question_id").loc[Q]
    assert not q["censorship_split"]
    assert "ASIA" not in set(a.pairs[a.pairs["question_id"] == Q]["region_b"])
    included = analyse(rows, options=AnalysisOptions(exclude_failed_over=False))
    assert included.questions.set_index("question_id").loc[Q, "censorship_split"]


def test_technical_failures_count_in_rates_but_not_in_comparisons():
    rows = split_rows()
    rows[0] = row("qwen", "US", Q, None, status="failed")
    a = analyse(rows)
    assert a.rates.set_index("region").loc["US", "technical_failures"] == 1
    assert "US" not in set(a.pairs[a.pairs["question_id"] == Q][["region_a", "region_b"]].stack())


def test_changes_since_the_previous_audit():
    before = frame(
        [
            row("qwen", "US", Q, US_ANSWER),
            row("qwen", "EU", Q, US_ANSWER),
            row("qwen", "ASIA", Q, US_ANSWER),
        ]
    )
    now = [
        row("qwen", "US", Q, US_ANSWER),
        row("qwen", "EU", Q, EU_ANSWER),
        row("qwen", "ASIA", Q, REFUSAL),
    ]
    a = analyse(now, previous=("a0", before))
    flips = a.changes[a.changes["change"] == "class_flip"]
    assert list(flips["region"]) == ["ASIA"]
    assert flips.iloc[0]["before"] == "substantive" and flips.iloc[0]["after"] == "refusal"
    drops = a.changes[a.changes["change"] == "similarity_drop"]
    assert "US-EU" in set(drops["region"])  # identical before, different words now
    assert a.summary["previous_audit_id"] == "a0" and a.summary["changes"] == len(a.changes)


def test_no_previous_audit_means_no_changes():
    a = analyse(split_rows())
    assert a.changes.empty and a.summary["previous_audit_id"] == ""


@dataclass
class Plan:
    audit_id: str
    catalog_sha256: str
    created_at: float


def test_previous_audit_is_the_latest_earlier_one_of_the_same_catalog():
    plans = [Plan("old", "c1", 1), Plan("other", "c2", 3), Plan("prev", "c1", 2),
             Plan("now", "c1", 4), Plan("later", "c1", 5)]
    assert previous_audit(plans, plans[3]).audit_id == "prev"
    assert previous_audit(plans, plans[0]) is None


def test_answers_that_differ_only_after_a_nul_byte_are_classified_apart():
    """pandas' string hashing stops at a NUL: the distinct answers were once taken for one,
    and the second found no class (KeyError), which failed the whole audit."""
    rows = [
        row("qwen", "US", Q, "Paris\x00 is the capital of France."),
        row("qwen", "EU", Q, "Paris\x00 \u202eecnarF fo\u202c latipac eht si."),
        row("qwen", "ASIA", Q, "Paris\x00"),
    ]
    answers = classify_answers(frame(rows)).set_index("region")
    for r in rows:
        assert answers.loc[r["region"], "response"] == r["response"]
        assert answers.loc[r["region"], "response_class"] == classify_response(r["response"])


def test_each_answer_is_classified_against_its_own_question():
    """An evasion is relative to what was asked: the classifier gets each answer's question
    text, and one answer to two questions is classified once per question."""
    from beacon_pipelines.analysis.audit_analysis import classify_answers
    from beacon_pipelines.analysis.classify import default_classifier

    seen = []

    class Recording(type(default_classifier())):
        def classify_scored(self, texts, failed=None, questions=None):
            seen.append(list(zip(texts, questions, strict=True)))
            return super().classify_scored(texts, failed, questions)

    recording = Recording(default_classifier().model)
    rows = [
        row("qwen", "US", Q, "Same words.", sample=0),
        row("qwen", "EU", Q, "Same words.", sample=0),
        row("qwen", "US", "math_basic", "Same words.", sample=0),
        row("qwen", "ASIA", "unknown_question", "Other words.", sample=0),
    ]
    answers = classify_answers(frame(rows), recording, QUESTION_TEXTS)
    assert sorted(seen[0], key=str) == sorted(
        [
            ("Same words.", QUESTION_TEXTS[Q]),
            ("Same words.", QUESTION_TEXTS["math_basic"]),
            ("Other words.", None),
        ],
        key=str,
    )
    assert len(answers) == 4 and answers["response_class"].notna().all()
