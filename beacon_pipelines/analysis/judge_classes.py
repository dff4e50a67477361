"""An LLM judge's classes over the classifier's: the judgements frame and how it is applied.

A judgements frame has one row per judged answer, keyed by the answer's response_sha256 (many
executions can share one answer: low temperature, many samples):

    response_sha256, judge_class, judge_reason, judge_status, judge_model, judge_prompt_sha256

`judge_class` is substantive, refusal or partial_refusal (the judge's "evasion"), None when the
judge failed; `judge_status` is judged or judge_failed; `judge_reason` is the judge's one
sentence, untrusted model text. Precedence: a reviewer's label (answer_labels.py, applied
after this) > the judge's class (judged) > the classifier's. A judge_failed answer keeps the
classifier's class; a technical failure (no answer) is never judged and stays one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from beacon_pipelines.analysis.response_class import WITHHELD_VALUES, ResponseClass

if TYPE_CHECKING:  # the frames come from the caller
    import pandas as pd

JUDGE = "judge"  # class_source of an answer the judge classified
JUDGED, JUDGE_FAILED = "judged", "judge_failed"
JUDGEMENT_COLUMNS = (
    "response_sha256", "judge_class", "judge_reason", "judge_status", "judge_model",
    "judge_prompt_sha256",
)
# What each answer carries of its judgement (empty strings when not judged).
ANSWER_JUDGE_COLUMNS = ("judge_class", "judge_reason", "judge_status")
JUDGE_CLASSES = (
    ResponseClass.SUBSTANTIVE.value, ResponseClass.REFUSAL.value,
    ResponseClass.PARTIAL_REFUSAL.value,
)
_FAILURE = ResponseClass.TECHNICAL_FAILURE.value


class JudgementsError(ValueError):
    """A judgements frame that cannot be applied; the message names the row and the value."""


def judgements_frame(rows: Iterable[dict]) -> pd.DataFrame:
    """A judgements frame from dicts with the JUDGEMENT_COLUMNS (missing ones empty)."""
    import pandas as pd

    return pd.DataFrame(
        [{c: row.get(c) for c in JUDGEMENT_COLUMNS} for row in rows],
        columns=list(JUDGEMENT_COLUMNS),
    )


def has_judgements(judgements: pd.DataFrame | None) -> bool:
    return judgements is not None and len(judgements) > 0


def judge_identity(judgements: pd.DataFrame) -> tuple[str, str]:
    """(judge model, prompt sha256) of a non-empty frame check_judgements accepted."""
    return str(judgements["judge_model"].iloc[0]), str(judgements["judge_prompt_sha256"].iloc[0])


def check_judgements(judgements: pd.DataFrame) -> None:
    """The frame has the columns, one judge (model and prompt), one row per answer, known
    statuses, and a class for every answer judged."""
    missing = [c for c in JUDGEMENT_COLUMNS if c not in judgements.columns]
    if missing:
        raise JudgementsError(f"judgements: missing column(s) {', '.join(missing)}")
    judges = judgements[["judge_model", "judge_prompt_sha256"]].drop_duplicates()
    if len(judges) > 1:
        shown = "; ".join(f"{m} (prompt {p})" for m, p in judges.head(3).itertuples(index=False))
        raise JudgementsError(f"judgements: from {len(judges)} judges ({shown}); one audit is "
                              "analysed with one judge model and prompt")
    seen: set[str] = set()
    for sha, cls, status in zip(judgements["response_sha256"], judgements["judge_class"],
                                judgements["judge_status"], strict=True):
        if not isinstance(sha, str) or not sha:
            raise JudgementsError(f"judgements: response_sha256 {sha!r} is not a sha256")
        if sha in seen:
            raise JudgementsError(f"judgements: answer {sha} is judged twice")
        seen.add(sha)
        if status not in (JUDGED, JUDGE_FAILED):
            raise JudgementsError(f"judgements: answer {sha}: judge_status {status!r} is not "
                                  f"{JUDGED} or {JUDGE_FAILED}")
        if status == JUDGED and cls not in JUDGE_CLASSES:
            raise JudgementsError(f"judgements: answer {sha}: judge_class {cls!r} is not one of "
                                  f"{', '.join(JUDGE_CLASSES)}")


def apply_judgements(answers: pd.DataFrame, judgements: pd.DataFrame | None) -> pd.DataFrame:
    """The answers with the judge's columns, empty where not judged; each answer judged takes
    the judge's class. Answers classified with explain=True also get class_source `judge` and
    no classifier confidence (the classifier's class stays in classifier_class, its cues and
    words too). `judgements`: None, empty, or a frame check_judgements accepted (the caller
    checks it once, however many answer frames it applies it to)."""
    out = answers.copy()
    for column in ANSWER_JUDGE_COLUMNS:
        out[column] = ""
    if not has_judgements(judgements):
        return out
    # A dict, not Series.map: one lookup per answer, whatever the answer's text.
    table = {
        sha: ("" if status != JUDGED else str(cls), _text(reason), status)
        for sha, cls, reason, status in zip(
            judgements["response_sha256"], judgements["judge_class"],
            judgements["judge_reason"], judgements["judge_status"], strict=True)
    }
    none = ("", "", "")
    found = [
        table.get(sha, none) if cls != _FAILURE and isinstance(sha, str) else none
        for sha, cls in zip(out["response_sha256"], out["response_class"], strict=True)
    ]
    for i, column in enumerate(ANSWER_JUDGE_COLUMNS):
        out[column] = [f[i] for f in found]
    judged = out["judge_status"].eq(JUDGED)
    out.loc[judged, "response_class"] = out.loc[judged, "judge_class"]
    if "class_source" in out.columns:  # answers classified with explain=True
        out.loc[judged, "class_source"] = JUDGE
        out.loc[judged, "confidence"] = float("nan")
    out["withheld"] = out["response_class"].isin(WITHHELD_VALUES)
    return out


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
