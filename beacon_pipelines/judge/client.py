"""What every judge backend offers: judge a batch of answers, one verdict each, in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from beacon_pipelines.judge.verdict import JudgeItem, JudgeVerdict


class JudgePermanentError(RuntimeError):
    """The judge cannot judge anything (a rejected key, an unknown model, an undeployed app):
    every answer would fail the same way, so the batch stops with this one message. Never
    carries a secret."""


@runtime_checkable
class JudgeClient(Protocol):
    kind: str  # "openai" | "modal"
    model: str  # the judge model's name: part of every judgement's key
    prompt_sha256: str  # sha256 of the versioned prompt file: part of the key as well

    def judge(self, items: Sequence[JudgeItem]) -> list[JudgeVerdict]:
        """One verdict per item, in the items' order. A reply that cannot be read, a
        throttled or timed-out call that stays so after its retries: that item's verdict is
        judge_failed. Raises JudgePermanentError when no answer can be judged."""
        ...
