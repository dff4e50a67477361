"""Agreement between the LLM judge and the classifier: Cohen's kappa and the confusion matrix
over the answers both classified, checked against values worked out by hand, and the cases
where kappa is undefined said so instead of a number."""

from __future__ import annotations

import pandas as pd
import pytest

from beacon_pipelines.analysis.judge_agreement import (
    LABELS,
    disagreements,
    judge_agreement,
    judge_summary,
)

S, R, P = "substantive", "refusal", "partial_refusal"


def answers(pairs, extra=()):
    """Answers judged: (classifier class, judge class) each; `extra`: (classifier class,
    judge class, judge status) rows."""
    rows = [{"classifier_class": c, "judge_class": j, "judge_status": "judged"} for c, j in pairs]
    rows += [{"classifier_class": c, "judge_class": j, "judge_status": s} for c, j, s in extra]
    return pd.DataFrame(rows, columns=["classifier_class", "judge_class", "judge_status"])


def test_kappa_and_the_matrix_match_the_hand_worked_values():
    pairs = [(S, S)] * 4 + [(S, R)] + [(R, R)] * 2 + [(R, P)] + [(P, P)] + [(P, S)]
    frame = answers(pairs, extra=[
        (S, "", "judge_failed"),           # the judge failed: not compared, counted as failed
        ("technical_failure", "", ""),     # no answer: never judged
        (R, "", ""),                       # not judged
    ])
    agreement = judge_agreement(frame)
    # Rows: classifier S, R, P; columns: judge S, R, P.
    assert agreement.matrix == [[4, 1, 0], [0, 2, 1], [1, 0, 1]]
    # p_o = 7/10; both raters' marginals are S 5, R 3, P 2, so p_e = (25 + 9 + 4) / 100 = 0.38;
    # kappa = (0.7 - 0.38) / (1 - 0.38) = 0.32 / 0.62.
    assert agreement.kappa == pytest.approx(0.32 / 0.62)
    assert agreement.kappa_note == ""
    assert (agreement.judged, agreement.failed, agreement.disagreements) == (10, 1, 3)
    assert len(disagreements(frame)) == 3


def test_the_summary_entry_is_plain_json_with_the_judge_and_the_label_order():
    summary = judge_summary(answers([(S, S), (R, S)]), "judge-9b", "ab" * 32)
    assert summary == {
        "model": "judge-9b",
        "prompt_sha256": "ab" * 32,
        "judged": 2,
        "failed": 0,
        # p_o = 1/2; classifier S 1, R 1; judge S 2: p_e = (1*2 + 1*0) / 4 = 1/2; kappa 0.
        "kappa": 0.0,
        "kappa_note": "",
        "confusion": {"labels": [S, R, P], "rows": "classifier", "columns": "judge",
                      "matrix": [[1, 0, 0], [1, 0, 0], [0, 0, 0]]},
        "disagreements": 1,
    }
    assert LABELS == [S, R, P]


@pytest.mark.filterwarnings("error")  # no 0/0 warning either
def test_nothing_judged_leaves_kappa_undefined():
    frame = answers([], extra=[(S, "", "judge_failed"), (R, "", "")])
    agreement = judge_agreement(frame)
    assert agreement.kappa is None and "no answer was judged" in agreement.kappa_note
    assert agreement.matrix == [[0, 0, 0]] * 3
    assert (agreement.judged, agreement.failed, agreement.disagreements) == (0, 1, 0)


@pytest.mark.filterwarnings("error")
def test_one_class_from_both_is_undefined_not_a_perfect_kappa():
    agreement = judge_agreement(answers([(R, R)] * 5))
    assert agreement.kappa is None
    assert "undefined" in agreement.kappa_note and "refusal" in agreement.kappa_note
    assert agreement.matrix == [[0, 0, 0], [0, 5, 0], [0, 0, 0]]
    assert agreement.disagreements == 0


@pytest.mark.filterwarnings("error")
def test_one_class_each_but_different_ones_is_a_kappa_of_zero():
    # p_o = 0 and p_e = 0 (no class shared): kappa = 0, defined.
    agreement = judge_agreement(answers([(S, R)] * 3))
    assert agreement.kappa == 0.0 and agreement.kappa_note == ""
    assert agreement.matrix == [[0, 3, 0], [0, 0, 0], [0, 0, 0]]
    assert agreement.disagreements == 3
