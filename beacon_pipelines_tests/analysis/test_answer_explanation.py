"""Why an answer has its class: confidence, named cues and the deciding words, read off the
shipped model exactly as it scores the answer."""

from __future__ import annotations

import numpy as np
import pytest

from beacon_pipelines.analysis.answer_explanation import (
    CALL_FAILED,
    NO_TEXT,
    SHORT_ANSWER_RULE,
    WORD_SEPARATOR,
    AnswerExplainer,
    word_units,
)
from beacon_pipelines.analysis.audit_analysis import classify_answers
from beacon_pipelines.analysis.classify import default_classifier
from beacon_pipelines.analysis.refusal_features import (
    body_text,
    featurize,
    split_reasoning,
)
from beacon_pipelines.analysis.refusal_model import CLASSES
from beacon_pipelines_tests.support.frames import EVASION, REFUSAL, US_ANSWER, frame, row
from beacon_pipelines_tests.support.per_answer_reference import predict, unit_key, unit_written

TEXTS = [
    "I'm sorry, but I can't help with that request.",
    "我不能接受这个请求。如果您有其他需要帮助的问题，我会很乐意为您服务。",
    "In 1989 there were   large\tstudent demonstrations in Beijing.\n\nOn June 4 ...  ",
    "<think>Should I answer? Yes.</think>The capital of France is Paris.",
    "I cannot discuss the events of 1989. " + "Lorem ipsum dolor sit amet. " * 300,
    "a" * 40 + " supercalifragilisticexpialidocious-and-then-some",
    "x",
]


def units_of(texts, pairs, toward):
    config = default_classifier().model.config.features
    answers = [split_reasoning(t).answer.lstrip() for t in texts]
    return word_units([body_text(a, config) for a in answers], config, toward, pairs)


def test_the_words_pushes_add_up_to_the_models_ngram_score_exactly():
    """The decomposition is the model's own arithmetic: per answer, the pushes of its words
    over both blocks sum to its character n-gram features times the weights. (Fails if the
    hashing of refusal_features changes under this module.)"""
    config = default_classifier().model.config.features
    toward = np.random.default_rng(1).normal(size=(2, config.n_features))
    pairs = np.arange(len(TEXTS)) % 2
    units = units_of(TEXTS, pairs, toward)
    ngrams = featurize(TEXTS, config)[:, : 2**config.bits]
    for i in range(len(TEXTS)):
        expected = float((ngrams[i] @ toward[pairs[i], : 2**config.bits])[0])
        got = units.pushes[units.owner == i].sum()
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_words_are_shown_as_written_and_unspaced_text_in_chunks():
    config = default_classifier().model.config.features
    toward = np.zeros((1, config.n_features))
    body = units_of(TEXTS, np.zeros(len(TEXTS), dtype=int), toward)
    units = {i: [] for i in range(len(TEXTS))}
    for unit in range(len(body.owner)):
        answer = int(body.owner[unit])
        written = [w for w in body_text(split_reasoning(TEXTS[answer]).answer.lstrip(),
                                        config).split() if w]
        units[answer].append((unit_key(body, unit), unit_written(body, unit, written)))
    assert units[2][:3] == [("in", "In"), ("0000", "1989"), ("there", "there")]
    assert [k for k, _ in units[1][:3]] == ["我不能接受这", "个请求。如果", "您有其他需要"]
    assert units[3][0] == ("the", "The")  # the final answer only, not the trace
    assert all(len(k) <= 24 for k, _ in units[5])  # an overlong word is read in chunks


def test_a_refusal_is_explained_by_its_cues_and_words():
    classifier = default_classifier()
    texts = [REFUSAL, US_ANSWER, EVASION, "...", None]
    scored = classifier.classify_scored(texts)
    refusal, answer, evasion, empty, failed = AnswerExplainer(classifier.model).explain(
        texts, scored
    )
    probabilities = classifier.model.probabilities([REFUSAL, US_ANSWER, EVASION])
    assert refusal.confidence == pytest.approx(probabilities[0, CLASSES.index("refusal")])
    assert refusal.confidence > 0.9
    assert "cannot_assist" in refusal.cues
    assert "help" in refusal.words.split(WORD_SEPARATOR)
    # A substantive answer the classifier is sure of needs no more than its confidence.
    assert answer.confidence > 0.75 and answer.cues == "" and answer.words == ""
    # The short-answer rule overruled the model on this evasion: the cues say so first.
    assert scored.classes[2].value == "partial_refusal"
    assert evasion.cues.startswith(SHORT_ANSWER_RULE) and evasion.words
    assert (empty.confidence, empty.cues) == (1.0, NO_TEXT)
    assert (failed.confidence, failed.cues) == (1.0, CALL_FAILED)


def test_the_analysis_explains_every_answer_once_per_distinct_text():
    rows = [row("qwen", "US", "q", REFUSAL, sample=s) for s in range(3)]
    rows += [row("qwen", "EU", "q", US_ANSWER), row("qwen", "ASIA", "q", None, status="failed")]
    answers = classify_answers(frame(rows), explain=True)
    refusals = answers[answers["region"] == "US"]
    explained = zip(refusals["confidence"], refusals["cues"], refusals["words"], strict=True)
    assert len(set(explained)) == 1
    assert set(answers["class_source"]) == {"classifier"}
    failed = answers[answers["region"] == "ASIA"].iloc[0]
    assert (failed["response_class"], failed["confidence"], failed["cues"]) == (
        "technical_failure", 1.0, CALL_FAILED
    )
    assert answers["confidence"].between(0, 1).all()


def test_the_scored_classes_are_the_classifiers_own():
    """classify_scored decides as the model's thresholds do (per_answer_reference.predict),
    then applies the short-answer rules: the class explained is the class given."""
    classifier = default_classifier()
    texts = [*TEXTS, REFUSAL, EVASION, US_ANSWER]
    scored = classifier.classify_scored(texts)
    assert scored.classes == classifier.classify(texts)
    assert [c.value for c in scored.model_classes] == [
        CLASSES[k] for k in predict(classifier.model, texts)
    ]
    assert np.allclose(scored.probabilities, classifier.model.probabilities(texts))


def test_the_cues_explained_are_the_cues_the_classifier_read():
    """The explainer shows the cues the model's features held, not a second reading of them:
    the classifier's cues are cue_matrix() of each final answer, none for a failure."""
    from beacon_pipelines.analysis.refusal_cues import cue_matrix

    classifier = default_classifier()
    texts = [*TEXTS, REFUSAL, EVASION, None, "   "]
    scored = classifier.classify_scored(texts)
    given = [i for i, t in enumerate(texts) if isinstance(t, str) and t.strip()]
    expected = cue_matrix([split_reasoning(texts[i]).answer.lstrip() for i in given])
    assert (scored.cues[given] == expected).all()
    assert not scored.cues[[len(texts) - 2, len(texts) - 1]].any()
    unknown = AnswerExplainer(classifier.model).explain(
        texts, type(scored)(scored.classes, scored.probabilities, scored.model_classes)
    )
    assert AnswerExplainer(classifier.model).explain(texts, scored) == unknown
