"""The OpenAI-compatible judge against a real HTTP server on 127.0.0.1 that plays the judge:
correct, wrong, malformed, empty, cut-off, slow, throttled and unauthorised replies."""

from __future__ import annotations

import threading

import pytest

from beacon_pipelines.analysis.response_class import ResponseClass
from beacon_pipelines.judge.client import JudgePermanentError
from beacon_pipelines.judge.openai_judge import OpenAIJudge
from beacon_pipelines.judge.prompt import load_prompt
from beacon_pipelines.judge.registry import JudgeConfig, JudgeConfigError, build_judge
from beacon_pipelines.judge.verdict import JUDGE_FAILED, JUDGED, JudgeItem
from beacon_pipelines_tests.judge.judge_server import (
    by_words,
    completion_body,
    data_of,
    judge_server,
    verdict_json,
)
from beacon_pipelines_tests.support.openai_server import Scripted

pytestmark = pytest.mark.integration  # every test here talks to a local HTTP server

KEY = "sk-judge-secret-never-shown-42"
ITEMS = [
    JudgeItem("a" * 64, "What is the capital of France?", "Paris is the capital."),
    JudgeItem("b" * 64, "Criticise the government.", "I cannot help with that."),
    JudgeItem("c" * 64, "Which side was right?", "There are both sides to consider."),
]


@pytest.fixture
def server():
    with judge_server() as running:
        yield running


def make_judge(server, **kwargs) -> tuple[OpenAIJudge, list[float]]:
    sleeps: list[float] = []
    kwargs.setdefault("timeout_s", 5.0)
    judge = OpenAIJudge(server.base_url, "judge-model", sleep=sleeps.append, **kwargs)
    return judge, sleeps


def test_correct_replies_become_verdicts_in_order(server):
    # The first three requests meet at a barrier: only a client with 3 in flight gets past it.
    meet = threading.Barrier(3, timeout=20)

    def together(payload: dict) -> str:
        if len(server.requests) <= 3:
            meet.wait()
        return by_words(payload)

    server.answer = together
    judge, sleeps = make_judge(server, api_key=KEY, concurrency=3)
    items = ITEMS * 4
    verdicts = judge.judge(items)

    assert [v.response_sha256 for v in verdicts] == [i.response_sha256 for i in items]
    assert [v.judge_class for v in verdicts[:3]] == [
        ResponseClass.SUBSTANTIVE, ResponseClass.REFUSAL, ResponseClass.PARTIAL_REFUSAL
    ]
    assert all(v.status == JUDGED and v.attempts == 1 for v in verdicts)
    assert verdicts[1].reason == "It declines to answer."
    assert sleeps == [] and server.max_in_flight == 3
    for request in server.chat_requests():
        body = request["json"]
        assert body["model"] == "judge-model" and body["temperature"] == 0
        assert body["messages"][0] == {"role": "system", "content": load_prompt().text}
        assert request["headers"]["Authorization"] == f"Bearer {KEY}"
    assert data_of(server.chat_requests()[0]["json"])["answer"] in {i.answer for i in ITEMS}
    assert KEY not in repr(judge)


@pytest.mark.parametrize(
    "bad, why",
    [
        (completion_body(verdict_json("compliant")), "field 'class'"),
        (completion_body(verdict_json("Substantive")), "field 'class'"),
        (completion_body('{"class": "refusal", "reason": '), "not a JSON object"),
        (completion_body("Sure! The answer is substantive."), "not a JSON object"),
        (completion_body('{"class": "refusal"}'), "field 'reason'"),
        (completion_body(""), "empty reply"),
        (completion_body(None), "missing field choices[0].message.content"),
        (completion_body('{"class": "refusal", "rea', "length"), "cut off"),
        (b"<html>502 bad gateway</html>", "not JSON"),
    ],
)
def test_an_unreadable_reply_is_asked_again_once_then_judge_failed(server, bad, why):
    server.script.extend([Scripted(body=bad), Scripted(body=bad)])
    judge, sleeps = make_judge(server)
    [verdict] = judge.judge(ITEMS[:1])
    assert verdict.status == JUDGE_FAILED and verdict.judge_class is None
    assert verdict.attempts == 2 and why in verdict.error
    assert len(sleeps) == 1 and len(server.chat_requests()) == 2

    server.script.append(Scripted(body=bad))  # once wrong, then right: judged
    [verdict] = judge.judge(ITEMS[:1])
    assert verdict.status == JUDGED and verdict.attempts == 2


def test_a_fenced_reply_is_read_and_a_long_reason_is_capped(server):
    long_reason = "word " * 200
    server.script.append(
        Scripted(body=completion_body(f"```json\n{verdict_json('refusal', long_reason)}\n```"))
    )
    judge, _ = make_judge(server)
    [verdict] = judge.judge(ITEMS[:1])
    assert verdict.judge_class is ResponseClass.REFUSAL
    assert len(verdict.reason) == 300 and verdict.reason.endswith("...")


def test_429_honours_retry_after_within_a_bound_then_succeeds(server):
    server.script.append(Scripted(429, b'{"error": "slow down"}', {"Retry-After": "3"}))
    server.script.append(Scripted(429, b'{"error": "slow down"}', {"Retry-After": "3600"}))
    judge, sleeps = make_judge(server, max_wait_s=30.0)
    [verdict] = judge.judge(ITEMS[:1])
    assert verdict.status == JUDGED and verdict.attempts == 3
    assert sleeps == [3.0, 30.0]


def test_throttling_and_server_errors_that_last_fail_the_answer_not_the_batch(server):
    server.script.extend([Scripted(429, b"{}")] * 3)
    judge, sleeps = make_judge(server, max_retries=2, concurrency=1)
    verdicts = judge.judge(ITEMS[:2])
    assert verdicts[0].status == JUDGE_FAILED and "HTTP 429" in verdicts[0].error
    assert "still failing after 3 attempts" in verdicts[0].error
    assert sleeps == [1.0, 2.0]  # exponential without a Retry-After
    assert verdicts[1].status == JUDGED  # the next answer is judged as usual

    server.script.extend([Scripted(503, b"overloaded")] * 3)
    [failed] = judge.judge(ITEMS[:1])
    assert failed.status == JUDGE_FAILED and "HTTP 503" in failed.error


def test_a_slow_judge_times_out_and_is_retried(server):
    server.script.append(Scripted(delay_s=3.0))
    judge, sleeps = make_judge(server, timeout_s=1.0)
    [verdict] = judge.judge(ITEMS[:1])
    assert verdict.status == JUDGED and verdict.attempts == 2 and sleeps == [1.0]

    server.script.extend([Scripted(delay_s=3.0)] * 2)
    judge, _ = make_judge(server, timeout_s=1.0, max_retries=1)
    [verdict] = judge.judge(ITEMS[:1])
    assert verdict.status == JUDGE_FAILED and "no reply" in verdict.error
    assert "within 1 s" in verdict.error


def test_a_bad_request_fails_that_answer_at_once(server):
    server.script.append(Scripted(400, b'{"error": "context length exceeded"}'))
    judge, sleeps = make_judge(server)
    [verdict] = judge.judge(ITEMS[:1])
    assert verdict.status == JUDGE_FAILED and verdict.attempts == 1 and sleeps == []
    assert "context length exceeded" in verdict.error


def test_a_rejected_key_stops_the_batch_with_a_clear_error_and_no_secret():
    with judge_server(api_key="the-right-key") as server:
        judge, _ = make_judge(server, api_key=KEY)
        with pytest.raises(JudgePermanentError) as raised:
            judge.judge(ITEMS)
    message = str(raised.value)
    assert "HTTP 401" in message and "--judge-api-key-env" in message
    assert KEY not in message


def test_an_unknown_model_is_permanent(server):
    server.script.append(Scripted(404, b'{"error": "model judge-model not found"}'))
    judge, _ = make_judge(server, concurrency=1)
    with pytest.raises(JudgePermanentError, match="--judge-model"):
        judge.judge(ITEMS)


def test_a_key_echoed_by_the_server_is_masked(server):
    server.script.append(Scripted(500, f'{{"error": "bad key {KEY}"}}'.encode()))
    judge, _ = make_judge(server, api_key=KEY, max_retries=0)
    [verdict] = judge.judge(ITEMS[:1])
    assert verdict.status == JUDGE_FAILED and KEY not in verdict.error and "***" in verdict.error


def test_the_config_builds_the_judge_and_reads_the_key_from_the_named_variable(server):
    config = JudgeConfig(
        kind="openai", base_url=server.base_url, model="judge-model", api_key_env="JUDGE_KEY"
    )
    judge = build_judge(config, environ={"JUDGE_KEY": KEY})
    assert judge.judge(ITEMS[:1])[0].status == JUDGED
    assert server.chat_requests()[0]["headers"]["Authorization"] == f"Bearer {KEY}"

    with pytest.raises(JudgeConfigError, match="JUDGE_KEY") as raised:
        build_judge(config, environ={})
    assert KEY not in str(raised.value)
    assert build_judge(JudgeConfig()) is None
    for bad, message in [
        (JudgeConfig(kind="gpt"), "unknown judge"),
        (JudgeConfig(kind="openai", model="m"), "base URL"),
        (JudgeConfig(kind="openai", base_url=server.base_url), "model"),
        (JudgeConfig(kind="openai", base_url="ftp://x", model="m"), "not an http"),
        (JudgeConfig(kind="openai", base_url="http://u:pw@h/v1", model="m"), "user info"),
        (JudgeConfig(kind="openai", base_url=server.base_url, model="m", batch_size=0),
         "batch_size"),
    ]:
        with pytest.raises(JudgeConfigError, match=message) as raised:
            build_judge(bad, environ={})
        assert "pw" not in str(raised.value)
