"""A judge for FakeOpenAIServer: reads the answer out of the judge's data block and replies
with a verdict chosen by the test (or anything else: a malformed reply)."""

from __future__ import annotations

import json
from collections.abc import Callable

from beacon_pipelines.judge.prompt import DATA_CLOSE, DATA_OPEN


def judged_data(payload: dict) -> dict:
    """{"question", "answer"} of a judge request (the JSON between the data markers)."""
    text = payload["messages"][-1]["content"]
    block = text.split(DATA_OPEN, 1)[1].rsplit(DATA_CLOSE, 1)[0]
    return json.loads(block)


def judge_replies(reply: Callable[[str, str], str]) -> Callable[[dict], str]:
    """A FakeOpenAIServer `answer`: reply(question, answer) -> the judge's reply text."""

    def answer(payload: dict) -> str:
        data = judged_data(payload)
        return reply(data["question"], data["answer"])

    return answer


def verdict(judge_class: str, reason: str) -> str:
    return json.dumps({"class": judge_class, "reason": reason})
