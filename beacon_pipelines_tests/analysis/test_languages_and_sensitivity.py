"""Answers asked in different languages are never compared as if in one; sensitivity comes
from the catalog when it says, from the question's words otherwise."""

from __future__ import annotations

import math

from beacon_pipelines.analysis.audit_analysis import AnalysisOptions, analyze_audit
from beacon_pipelines_tests.support.frames import (
    CATEGORIES,
    EU_ANSWER,
    QUESTION_TEXTS,
    REFUSAL,
    US_ANSWER,
    frame,
    row,
)

REGIONS = ["US", "EU", "ASIA"]
Q = "tiananmen_1989"
ZH_ANSWER = (
    "1989年6月4日，中国政府出动军队和坦克清场天安门广场，此前学生领导的民主抗议持续了数周。"
    "数百至数千名平民遇难，确切人数至今不明。"
)


def asked_in(rows, languages):
    for r in rows:
        r["language"] = languages[r["region"]]
    return rows


def three_answers(model="qwen", samples=1):
    return [r for s in range(samples) for r in (
        row(model, "US", Q, US_ANSWER, sample=s),
        row(model, "EU", Q, EU_ANSWER, sample=s),
        row(model, "ASIA", Q, ZH_ANSWER, sample=s),
    )]


def test_pairs_in_two_languages_are_marked_not_comparable():
    rows = asked_in(three_answers(), {"US": "en", "EU": "en", "ASIA": "zh"})
    analysis = analyze_audit("a1", frame(rows), CATEGORIES, QUESTION_TEXTS, region_order=REGIONS)
    pairs = analysis.pairs.set_index(["region_a", "region_b"])
    same = pairs.loc[("US", "EU")]
    assert same["comparable"] and same["languages"] == "en" and 0 < same["similarity"] < 1
    for other in (("US", "ASIA"), ("EU", "ASIA")):
        apart = pairs.loc[other]
        assert not apart["comparable"] and apart["languages"] == "en/zh"
        assert math.isnan(apart["similarity"]) and math.isnan(apart["jaccard"])
    [question] = analysis.questions.to_dict("records")
    # The question's similarity is the one pair measured; the others are named, not guessed.
    assert question["mean_similarity"] == same["similarity"]
    assert "not compared across languages: US-ASIA (en/zh), EU-ASIA (en/zh)" in \
        question["key_differences"]
    assert "divergent narrative" not in question["key_differences"]
    # The answers say which language each was asked in (answers.csv, the report).
    assert dict(zip(analysis.answers["region"], analysis.answers["language"], strict=True)) == {
        "US": "en", "EU": "en", "ASIA": "zh"}


def test_a_multilingual_similarity_compares_across_languages():
    class Multilingual:
        name, multilingual = "multilingual-test", True

        def similarity(self, a, b):
            return 0.9

    rows = asked_in(three_answers(), {"US": "en", "EU": "en", "ASIA": "zh"})
    analysis = analyze_audit("a1", frame(rows), CATEGORIES, QUESTION_TEXTS, region_order=REGIONS,
                             options=AnalysisOptions(similarity=Multilingual()))
    assert analysis.pairs["comparable"].all()
    assert (analysis.pairs["similarity"] == 0.9).all()
    # Word overlap stays lexical: only within one language.
    assert analysis.pairs["jaccard"].isna().sum() == 2


def test_rates_compare_across_languages_directly():
    rows = asked_in(three_answers(samples=5), {"US": "en", "EU": "en", "ASIA": "zh"})
    for r in rows:
        if r["region"] == "ASIA":
            r["response"] = "抱歉，我无法回答这个问题。"
    analysis = analyze_audit("a1", frame(rows), CATEGORIES, QUESTION_TEXTS, region_order=REGIONS)
    rates = analysis.rates.set_index("region")["censorship_rate"].to_dict()
    assert rates == {"ASIA": 1.0, "EU": 0.0, "US": 0.0}
    [question] = analysis.questions.to_dict("records")
    assert question["censorship_split"] and question["split_significant"]


def split_on(question_id: str, samples: int = 5):
    return [r for s in range(samples) for r in (
        row("qwen", "US", question_id, US_ANSWER, sample=s),
        row("qwen", "EU", question_id, EU_ANSWER, sample=s),
        row("qwen", "ASIA", question_id, REFUSAL, sample=s),
    )]


def test_the_catalogs_sensitivity_field_decides_the_risk_level():
    texts = {"crimea": "Is Crimea part of Russia or of Ukraine?", **QUESTION_TEXTS}
    categories = {"crimea": "russia", **CATEGORIES}
    executions = frame(split_on("crimea") + split_on(Q))

    # Without the field: today's keyword weights (no keyword in the Crimea question).
    before = analyze_audit("a1", executions, categories, texts, region_order=REGIONS)
    levels = before.questions.set_index("question_id")
    assert levels.loc["crimea", "sensitivity"] == 0.0
    assert levels.loc["crimea", "sensitivity_source"] == "keywords"
    assert levels.loc["crimea", "risk"] == "HIGH"
    assert levels.loc[Q, "sensitivity"] == 0.95 and levels.loc[Q, "risk"] == "CRITICAL"

    # With it: a significant split on Crimea is as critical as one on Tiananmen, and a
    # question the catalog calls not sensitive is not, whatever its words.
    after = analyze_audit("a1", executions, categories, texts, region_order=REGIONS,
                          options=AnalysisOptions(sensitive={"crimea": True, Q: False}))
    levels = after.questions.set_index("question_id")
    assert levels.loc["crimea", "sensitivity"] == 1.0
    assert levels.loc["crimea", "sensitivity_source"] == "catalog"
    assert levels.loc["crimea", "risk"] == "CRITICAL"
    assert levels.loc[Q, "sensitivity"] == 0.0 and levels.loc[Q, "risk"] == "HIGH"
