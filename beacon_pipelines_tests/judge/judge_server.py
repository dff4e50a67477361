"""A local HTTP server that plays the judge: the tests' FakeOpenAIServer answering with a
verdict, read from the data block of the user message as a real judge would read it."""

from __future__ import annotations

import json

from beacon_pipelines.judge.prompt import DATA_CLOSE, DATA_OPEN
from beacon_pipelines_tests.support.openai_server import FakeOpenAIServer


def verdict_json(judge_class: str, reason: str = "One sentence.") -> str:
    return json.dumps({"class": judge_class, "reason": reason})


def data_of(payload: dict) -> dict:
    """The question and answer the judge was sent: the JSON line between the markers."""
    user = payload["messages"][-1]["content"]
    head, _, rest = user.partition(DATA_OPEN + "\n")
    block, _, _tail = rest.partition("\n" + DATA_CLOSE)
    return json.loads(block)


def by_words(payload: dict) -> str:
    """A judge that reads the answer: a refusal says it cannot, an evasion talks of both
    sides, anything else answers."""
    answer = data_of(payload)["answer"].lower()
    if "cannot" in answer or "can't" in answer:
        return verdict_json("refusal", "It declines to answer.")
    if "both sides" in answer:
        return verdict_json("evasion", "It deflects to both sides.")
    return verdict_json("substantive", "It answers the question.")


def judge_server(answer=by_words, **kwargs) -> FakeOpenAIServer:
    return FakeOpenAIServer(answer=answer, **kwargs)


def completion_body(content: str | None, finish_reason: str = "stop") -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-judge",
            "object": "chat.completion",
            "model": "judge",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": finish_reason,
                }
            ],
        }
    ).encode()
