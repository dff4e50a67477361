"""What goes to a judge (one answer) and what comes back (its verdict on it)."""

from __future__ import annotations

from dataclasses import dataclass

from beacon_pipelines.analysis.response_class import ResponseClass

JUDGED = "judged"
JUDGE_FAILED = "judge_failed"
STATUSES = (JUDGED, JUDGE_FAILED)


@dataclass(frozen=True)
class JudgeItem:
    """One answer to judge. `answer` is untrusted model text: the final answer, as the
    classifier reads it (a reasoning model's text after its closing </think>; see
    `judge_item`), so judge and classifier judge the same words."""

    response_sha256: str
    question: str
    answer: str


@dataclass(frozen=True)
class JudgeVerdict:
    response_sha256: str
    judge_class: ResponseClass | None  # None when failed
    reason: str  # one sentence of untrusted judge text; "" when failed
    status: str  # JUDGED | JUDGE_FAILED
    attempts: int  # judge calls made for this answer
    error: str = ""  # why it failed (never a secret)

    @property
    def judged(self) -> bool:
        return self.status == JUDGED

    @classmethod
    def failed(cls, response_sha256: str, attempts: int, error: str) -> JudgeVerdict:
        return cls(response_sha256, None, "", JUDGE_FAILED, attempts, error)


def judge_item(response_sha256: str, question: str, response: str) -> JudgeItem:
    """The item for a stored response: its final answer (a reasoning trace cut off as the
    classifier cuts it; an answer that is only a trace is sent as it is). The key stays the
    sha256 of the whole response, so the same response always maps to the same judged text."""
    # Imported here: the classifier's features module pulls numpy, which the CLI and the code
    # location must not import before the first step (see test_audit_imports.py).
    from beacon_pipelines.analysis.refusal_features import final_answer

    return JudgeItem(response_sha256, question, final_answer(response))
