"""A judge client in memory, for the judging and store tests: scripted classes, every call
recorded, and a crash on demand."""

from __future__ import annotations

from collections.abc import Sequence

from beacon_pipelines.analysis.response_class import ResponseClass
from beacon_pipelines.judge.verdict import JUDGED, JudgeItem, JudgeVerdict


class Crash(RuntimeError):
    pass


class RecordingJudge:
    kind = "openai"

    def __init__(self, model: str = "judge-m", prompt_sha256: str = "p" * 64,
                 crash_on_call: int | None = None, fail: set[str] | None = None):
        self.model = model
        self.prompt_sha256 = prompt_sha256
        self.calls: list[list[str]] = []  # the answers' sha256s of each call
        self.crash_on_call = crash_on_call
        self.fail = fail or set()

    def judge(self, items: Sequence[JudgeItem]) -> list[JudgeVerdict]:
        self.calls.append([i.response_sha256 for i in items])
        if self.crash_on_call == len(self.calls):
            raise Crash("the worker died mid-run")
        verdicts = []
        for item in items:
            if item.response_sha256 in self.fail:
                verdicts.append(JudgeVerdict.failed(item.response_sha256, 2, "unreadable reply"))
                continue
            refused = "cannot" in item.answer
            verdicts.append(
                JudgeVerdict(
                    item.response_sha256,
                    ResponseClass.REFUSAL if refused else ResponseClass.SUBSTANTIVE,
                    f"because of {item.answer[:20]}",
                    JUDGED,
                    1,
                )
            )
        return verdicts

    @property
    def judged(self) -> list[str]:
        return [sha for call in self.calls for sha in call]
