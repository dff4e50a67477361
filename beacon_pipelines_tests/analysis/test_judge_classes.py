"""An LLM judge's classes in the analysis: over the classifier's, under a reviewer's label, one
judgement for every execution that gave the same answer, and nothing for technical failures or
answers the judge failed on; rates and risk follow the class used."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from beacon_pipelines.analysis.answer_labels import read_labels
from beacon_pipelines.analysis.audit_analysis import AnalysisOptions, analyze_audit
from beacon_pipelines.analysis.judge_classes import JudgementsError
from beacon_pipelines_tests.support.frames import (
    CATEGORIES,
    EU_ANSWER,
    QUESTION_TEXTS,
    REFUSAL,
    US_ANSWER,
    frame,
    row,
    split_audit_rows,
)
from beacon_pipelines_tests.support.judgements import (
    JUDGE_MODEL,
    JUDGE_PROMPT_SHA256,
    judge_failed,
    judged,
    judgements,
    sha,
    with_shas,
)

Q = "tiananmen_1989"
SAMPLES = 4




def analyse(executions, judged_frame=None, labels=None):
    return analyze_audit("a1", executions, CATEGORIES, QUESTION_TEXTS,
                         region_order=["US", "EU", "ASIA"],
                         options=AnalysisOptions(judgements=judged_frame, labels=labels))


def answers_of(analysis, region, question_id=Q):
    a = analysis.answers
    return a[(a["region"] == region) & (a["question_id"] == question_id)]


def test_the_judges_class_replaces_the_classifiers_and_the_risk_follows():
    executions = with_shas(frame(split_audit_rows()))
    before = analyse(executions)
    assert before.questions.set_index("question_id").loc[Q, "risk"] == "CRITICAL"
    assert set(answers_of(before, "ASIA")["response_class"]) == {"refusal"}
    # The judge reads ASIA's refusal as an answer: no region withholds any more.
    after = analyse(executions, judgements(judged(REFUSAL, "substantive", "it answers")))
    asia = answers_of(after, "ASIA")
    assert set(asia["response_class"]) == {"substantive"}
    assert set(asia["class_source"]) == {"judge"}
    assert set(asia["classifier_class"]) == {"refusal"}
    assert set(asia["judge_class"]) == {"substantive"} and set(asia["judge_status"]) == {"judged"}
    assert set(asia["judge_reason"]) == {"it answers"}
    assert asia["confidence"].map(math.isnan).all()  # the judge gives no probability
    assert not asia["withheld"].any()
    q = after.questions.set_index("question_id").loc[Q]
    assert not q["censorship_split"] and q["risk"] == "LOW"
    assert after.summary["refusals"] == 0 and after.summary["censorship_rate"] == 0.0
    rates = after.rates.set_index("region")
    assert rates.loc["ASIA", "refusals"] == 0
    # Answers the judge did not see: the classifier's, with empty judge columns.
    others = after.answers.drop(asia.index)
    assert set(others["class_source"]) == {"classifier"}
    assert set(others["judge_class"]) == set(others["judge_status"]) == {""}
    assert set(others["judge_reason"]) == {""}


def test_one_judgement_classifies_every_execution_that_gave_the_answer():
    # Three regions and four samples of one question, one answer text: one judgement.
    executions = with_shas(frame(
        [row("qwen", r, Q, REFUSAL, sample=s) for r in ("US", "EU", "ASIA") for s in range(4)]
    ))
    analysis = analyse(executions, judgements(judged(REFUSAL, "partial_refusal")))
    answers = analysis.answers
    assert len(answers) == 12
    assert set(answers["response_class"]) == {"partial_refusal"}
    assert set(answers["class_source"]) == {"judge"}
    assert analysis.summary["partial_refusals"] == 12 and analysis.summary["refusals"] == 0
    assert analysis.summary["judge"]["judged"] == 12


def test_a_reviewers_label_beats_the_judge_and_a_failed_judgement_keeps_the_classifier(tmp_path):
    labels_path = tmp_path / "labels.csv"
    labels_path.write_text("model,region,question_id,sample,class,note\n"
                           f"qwen,ASIA,{Q},0,substantive,read it\n", encoding="utf-8")
    labels = read_labels(labels_path)
    executions = with_shas(frame(split_audit_rows()))
    analysis = analyse(
        executions,
        judgements(judged(REFUSAL, "refusal", "declines"), judged(US_ANSWER, "partial_refusal"),
                   judge_failed(EU_ANSWER)),
        labels,
    )
    asia = answers_of(analysis, "ASIA").set_index("sample")
    # Sample 0: the reviewer's class; the judge's judgement is still on the row.
    assert asia.loc[0, ["response_class", "class_source", "judge_class", "judge_status"]].tolist() \
        == ["substantive", "reviewer", "refusal", "judged"]
    assert set(asia.loc[1:, "class_source"]) == {"judge"}
    assert set(asia.loc[1:, "response_class"]) == {"refusal"}
    eu = answers_of(analysis, "EU")
    assert set(eu["class_source"]) == {"classifier"}
    assert (eu["response_class"] == eu["classifier_class"]).all()
    assert set(eu["judge_status"]) == {"judge_failed"} and set(eu["judge_class"]) == {""}
    us = answers_of(analysis, "US")
    assert set(us["response_class"]) == {"partial_refusal"} and set(us["class_source"]) == {"judge"}
    # labels_changed counts the reviewer's changes only, not the judge's.
    assert (analysis.summary["labels_applied"], analysis.summary["labels_changed"]) == (1, 1)
    judge = analysis.summary["judge"]
    assert (judge["model"], judge["prompt_sha256"]) == (JUDGE_MODEL, JUDGE_PROMPT_SHA256)
    assert (judge["judged"], judge["failed"]) == (2 * SAMPLES, SAMPLES)


def test_a_technical_failure_is_never_given_a_judges_class():
    executions = frame([
        row("qwen", "US", Q, US_ANSWER),
        row("qwen", "ASIA", Q, None, status="failed"),
    ])
    executions = with_shas(executions)
    # A stale judgement that happens to carry the failed execution's hash changes nothing.
    executions.loc[executions["status"] == "failed", "response_sha256"] = sha(REFUSAL)
    analysis = analyse(executions, judgements(judged(REFUSAL, "refusal"),
                                              judged(US_ANSWER, "substantive")))
    failed = answers_of(analysis, "ASIA").iloc[0]
    assert failed["response_class"] == "technical_failure"
    assert failed["class_source"] == "classifier" and failed["judge_status"] == ""
    assert analysis.summary["technical_failures"] == 1
    assert analysis.summary["judge"]["judged"] == 1


@pytest.mark.parametrize("empty", [None, "frame"])
def test_without_judgements_the_analysis_is_the_classifiers(empty):
    executions = with_shas(frame(split_audit_rows()))
    nothing = judgements() if empty == "frame" else None
    analysis = analyse(executions, nothing)
    plain = analyse(executions)
    assert "judge" not in analysis.summary
    assert set(analysis.answers["class_source"]) == {"classifier"}
    for column in ("judge_class", "judge_reason", "judge_status"):
        assert set(analysis.answers[column]) == {""}
    pd.testing.assert_frame_equal(analysis.answers, plain.answers)
    assert analysis.summary == plain.summary


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([judged(REFUSAL, "refusal"), judged(REFUSAL, "substantive")], "judged twice"),
        ([judged(REFUSAL, "refusal"), {**judged(US_ANSWER, "refusal"), "judge_model": "other"}],
         "from 2 judges"),
        ([{**judged(REFUSAL, "refusal"), "judge_class": "evasion"}], "judge_class 'evasion'"),
        ([{**judged(REFUSAL, "refusal"), "judge_class": None}], "judge_class None"),
        ([{**judged(REFUSAL, "refusal"), "judge_status": "maybe"}], "judge_status 'maybe'"),
    ],
)
def test_a_judgements_frame_that_cannot_be_applied_is_one_clear_error(bad, message):
    with pytest.raises(JudgementsError, match=message) as raised:
        analyse(with_shas(frame(split_audit_rows(1))), judgements(*bad))
    if "judges" not in message:
        assert sha(REFUSAL) in str(raised.value)  # names the answer


def test_a_judgements_frame_without_its_columns_names_them():
    bad = judgements(judged(REFUSAL, "refusal")).drop(columns=["judge_status"])
    with pytest.raises(JudgementsError, match="missing column.*judge_status"):
        analyse(with_shas(frame(split_audit_rows(1))), bad)


def test_an_unchanged_answer_is_no_class_flip_since_the_previous_audit():
    # The same answers in both audits; the judge reads ASIA's refusal as an evasion. Compared
    # with the classifier's class of the previous audit, each would look like a flip.
    executions = with_shas(frame(split_audit_rows(2)))
    analysis = analyze_audit(
        "a1", executions, CATEGORIES, QUESTION_TEXTS, region_order=["US", "EU", "ASIA"],
        previous=("a0", executions.assign(audit_id="a0")),
        options=AnalysisOptions(judgements=judgements(judged(REFUSAL, "partial_refusal"))),
    )
    assert set(answers_of(analysis, "ASIA")["response_class"]) == {"partial_refusal"}
    assert analysis.changes.empty and analysis.summary["changes"] == 0
    # A changed answer still is one: the previous audit's ASIA answered, the judge's class now.
    answered = executions.assign(
        audit_id="a0",
        response=executions["response"].where(executions["response"] != REFUSAL, US_ANSWER),
    )
    changed = analyze_audit(
        "a1", executions, CATEGORIES, QUESTION_TEXTS, region_order=["US", "EU", "ASIA"],
        previous=("a0", with_shas(answered)),
        options=AnalysisOptions(judgements=judgements(judged(REFUSAL, "partial_refusal"))),
    )
    flips = changed.changes[changed.changes["change"] == "class_flip"]
    assert len(flips) == 2 and set(flips["after"]) == {"partial_refusal"}
    assert set(flips["before"]) == {"substantive"}
