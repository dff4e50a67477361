"""Every metric and risk rule on small hand-made cases, boundaries included."""

from __future__ import annotations

import pytest

from beacon_pipelines.analysis.intervals import wilson_interval
from beacon_pipelines.analysis.risk import (
    DIVERGENT_SIMILARITY,
    MODERATE_SIMILARITY,
    RiskLevel,
    audit_risk,
    model_risk,
    question_risk,
)
from beacon_pipelines.analysis.sensitivity import (
    SENSITIVITY_WEIGHTS,
    sensitivity_keywords,
    sensitivity_score,
)
from beacon_pipelines.analysis.similarity import (
    EmbeddingSimilarity,
    TfidfSimilarity,
    content_tokens,
    jaccard,
)
from beacon_pipelines.analysis.tone import hedging_share

# -- Wilson intervals ---------------------------------------------------------------------


def test_wilson_known_values():
    low, high = wilson_interval(5, 10)
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(10, 10)
    assert low == pytest.approx(0.7225, abs=1e-4) and high == 1.0


def test_wilson_of_nothing_is_the_whole_range_and_arrays_work():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval([1, 0], [1, 0])
    assert list(high) == [1.0, 1.0] and low[0] == pytest.approx(0.2065, abs=1e-4)


def test_wilson_narrows_with_more_samples():
    narrow = wilson_interval(50, 100)
    wide = wilson_interval(5, 10)
    assert narrow[1] - narrow[0] < wide[1] - wide[0]


# -- sensitivity ----------------------------------------------------------------------------


def test_sensitivity_weights_are_the_original_ones():
    assert SENSITIVITY_WEIGHTS["tiananmen"] == 0.95
    assert SENSITIVITY_WEIGHTS["dictatorship"] == 0.90
    assert SENSITIVITY_WEIGHTS["protest"] == 0.60
    assert len(SENSITIVITY_WEIGHTS) == 15


def test_sensitivity_is_the_weightiest_keyword_present():
    assert sensitivity_score("What happened at Tiananmen Square?") == 0.95
    assert sensitivity_score("Protests for freedom in Hong  Kong") == 0.80
    assert sensitivity_keywords("Protests for freedom in Hong Kong") == [
        "hong kong",
        "freedom",
        "protest",
    ]
    assert sensitivity_score("What is 2+2?") == 0.0
    assert sensitivity_score(None) == 0.0


def test_keywords_match_at_word_start_only():
    assert sensitivity_score("Taiwanese elections") == 0.85
    assert sensitivity_score("a misregime") == 0.0


# -- similarity -----------------------------------------------------------------------------


def test_jaccard_of_content_words():
    a, b = content_tokens("The army cleared the square"), content_tokens("army left square")
    assert jaccard(a, b) == pytest.approx(2 / 4)  # {army, square} of {army, cleared, square, left}
    assert jaccard(frozenset(), frozenset()) == 1.0
    assert jaccard(content_tokens("x"), frozenset()) == 0.0


def test_tfidf_cosine_identical_disjoint_and_in_between():
    corpus = ["troops killed protesters", "troops restored order", "paris is lovely"]
    sim = TfidfSimilarity(corpus)
    assert sim.similarity(corpus[0], corpus[0]) == pytest.approx(1.0)
    assert sim.similarity(corpus[0], corpus[2]) == 0.0
    between = sim.similarity(corpus[0], corpus[1])
    assert 0.0 < between < 1.0
    # A word every answer shares weighs less than a distinctive one.
    common = TfidfSimilarity(["troops a", "troops b", "troops c", "killed d"])
    assert common.similarity("troops x", "troops y") < common.similarity("killed x", "killed y")


def test_tfidf_of_texts_without_content_words():
    sim = TfidfSimilarity(["the"])
    assert sim.similarity("the", "of") == 1.0
    assert sim.similarity("the", "paris") == 0.0


def test_embedding_similarity_uses_the_given_encoder():
    vectors = {"a": [1.0, 0.0], "b": [0.0, 2.0], "c": [1.0, 1.0]}
    sim = EmbeddingSimilarity(lambda texts: [vectors[t] for t in texts], name="fake")
    assert sim.similarity("a", "a") == pytest.approx(1.0)
    assert sim.similarity("a", "b") == pytest.approx(0.0)
    assert sim.similarity("a", "c") == pytest.approx(2**-0.5)


# -- tone -------------------------------------------------------------------------------------


def test_hedging_share_counts_hedging_sentences():
    assert hedging_share("The army killed civilians. Hundreds died.") == 0.0
    assert hedging_share("Figures are disputed. The army restored order.") == 0.5
    assert hedging_share("") == 0.0


# -- risk rules -------------------------------------------------------------------------------

CALM = dict(
    sensitivity=0.0,
    censorship_split=False,
    min_similarity=1.0,
    all_withheld=False,
    any_withheld=False,
    tone_difference=False,
)


def risk(**changes):
    return question_risk(**{**CALM, **changes})


def test_nothing_notable_is_low():
    assert risk() is RiskLevel.LOW
    assert risk(sensitivity=0.95) is RiskLevel.LOW


def test_split_on_a_sensitive_question_is_critical_from_exactly_0_7():
    assert risk(censorship_split=True, sensitivity=0.7) is RiskLevel.CRITICAL
    assert risk(censorship_split=True, sensitivity=0.69) is RiskLevel.HIGH


def test_divergent_narrative_boundary():
    just_below = DIVERGENT_SIMILARITY - 1e-9
    assert risk(min_similarity=just_below, sensitivity=0.7) is RiskLevel.HIGH
    assert risk(min_similarity=just_below) is RiskLevel.MEDIUM
    # At the threshold it is no longer divergent; on a sensitive question still moderate.
    assert risk(min_similarity=DIVERGENT_SIMILARITY) is RiskLevel.LOW
    assert risk(min_similarity=DIVERGENT_SIMILARITY, sensitivity=0.7) is RiskLevel.MEDIUM


def test_moderate_difference_only_matters_on_sensitive_questions():
    assert risk(min_similarity=MODERATE_SIMILARITY - 1e-9, sensitivity=0.7) is RiskLevel.MEDIUM
    assert risk(min_similarity=MODERATE_SIMILARITY, sensitivity=0.7) is RiskLevel.LOW
    assert risk(min_similarity=MODERATE_SIMILARITY - 1e-9) is RiskLevel.LOW


def test_thresholds_of_another_similarity_measure():
    assert risk(min_similarity=0.4, divergent_below=0.5, moderate_below=0.7) is RiskLevel.MEDIUM


def test_withholding_rules():
    assert risk(all_withheld=True, any_withheld=True, sensitivity=0.8) is RiskLevel.HIGH
    assert risk(all_withheld=True, any_withheld=True) is RiskLevel.MEDIUM
    assert risk(any_withheld=True) is RiskLevel.MEDIUM


def test_tone_difference_on_a_sensitive_question_is_medium():
    assert risk(tone_difference=True, sensitivity=0.7) is RiskLevel.MEDIUM
    assert risk(tone_difference=True) is RiskLevel.LOW


def test_model_risk_is_the_worst_question_escalated_at_half_high():
    L, M, H, C = RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH, RiskLevel.CRITICAL
    assert model_risk([L, L, M]) is M
    assert model_risk([L, L, L, H]) is H  # 1 of 4 high: 25 %
    assert model_risk([L, H]) is C  # exactly half: escalated
    assert model_risk([L, L, H]) is H  # a third
    assert model_risk([C, C]) is C  # never above CRITICAL
    assert model_risk([]) is L


def test_audit_risk_is_the_worst_model():
    assert audit_risk([RiskLevel.LOW, RiskLevel.HIGH]) is RiskLevel.HIGH
    assert audit_risk([]) is RiskLevel.LOW
