"""How far the LLM judge agrees with Beacon's classifier on one audit's answers.

Over the answers both classified: those the judge judged (judge_status `judged`; technical
failures are never judged), one per execution, as the rates count them. Cohen's kappa and the
confusion matrix (rows: the classifier's class, columns: the judge's), in the fixed class order
substantive, refusal, partial_refusal. Kappa is undefined when chance alone would agree on every
answer (both gave every answer the same one class) or nothing was judged: it is then None, with
the reason, never NaN and never a made-up 1.0.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from beacon_pipelines.analysis.judge_classes import JUDGE_CLASSES, JUDGE_FAILED, JUDGED

LABELS = list(JUDGE_CLASSES)


@dataclass(frozen=True)
class JudgeAgreement:
    judged: int  # answers the judge classified (executions)
    failed: int  # answers the judge could not classify: the classifier's class stands
    kappa: float | None
    kappa_note: str  # why kappa is None ("" when it is a number)
    matrix: list[list[int]]  # [classifier class][judge class], in LABELS order
    disagreements: int


def both_classified(answers: pd.DataFrame) -> pd.DataFrame:
    """The answers the judge judged and the classifier classified."""
    return answers[answers["judge_status"].eq(JUDGED) & answers["classifier_class"].isin(LABELS)]


def judge_agreement(answers: pd.DataFrame) -> JudgeAgreement:
    """`answers`: the analysis' answers, with classifier_class and the judge's columns."""
    both = both_classified(answers)
    failed = int(answers["judge_status"].eq(JUDGE_FAILED).sum())
    n = len(both)
    if n == 0:
        return JudgeAgreement(0, failed, None, "no answer was judged", [[0] * 3 for _ in LABELS],
                              0)
    said, judged = both["classifier_class"].tolist(), both["judge_class"].tolist()
    matrix = confusion_matrix(said, judged, labels=LABELS)
    agreed = int(matrix.trace())
    # Expected agreement by chance is 1 when both put every answer in the same one class:
    # kappa = (p_o - p_e) / (1 - p_e) is then 0/0.
    chance = int((matrix.sum(axis=1) * matrix.sum(axis=0)).sum())
    if chance == n * n:
        kappa, note = None, (f"undefined: the judge and the classifier gave all {n} answers "
                             f"one class ({said[0]}), so chance alone agrees on every one")
    else:
        kappa, note = float(cohen_kappa_score(said, judged, labels=LABELS)), ""
    return JudgeAgreement(n, failed, kappa, note, matrix.astype(int).tolist(), n - agreed)


def judge_summary(answers: pd.DataFrame, model: str, prompt_sha256: str) -> dict:
    """The analysis summary's `judge` entry (plain JSON: kappa None when undefined)."""
    agreement = judge_agreement(answers)
    return {
        "model": model,
        "prompt_sha256": prompt_sha256,
        "judged": agreement.judged,
        "failed": agreement.failed,
        "kappa": agreement.kappa,
        "kappa_note": agreement.kappa_note,
        "confusion": {"labels": LABELS, "rows": "classifier", "columns": "judge",
                      "matrix": agreement.matrix},
        "disagreements": agreement.disagreements,
    }


def disagreements(answers: pd.DataFrame) -> pd.DataFrame:
    """The answers where the judge's class is not the classifier's."""
    both = both_classified(answers)
    return both[both["judge_class"] != both["classifier_class"]]
