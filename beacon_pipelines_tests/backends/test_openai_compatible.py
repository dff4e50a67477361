"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from beacon_pipelines.backends.base import BackendError, ErrorKind
from beacon_pipelines.backends.openai_compatible import (
    OpenAICompatibleBackend,
    parse_model_map,
    retry_after_seconds,
)
from beacon_pipelines_tests.support.openai_server import FakeOpenAIServer, Scripted, answer_for
from beacon_pipelines_tests.support.requests_factory import partition

KEY = "sk-test-never-logged-1234"


@pytest.fixture
def server():
    with FakeOpenAIServer() as running:
        yield running


def backend_for(server, **kwargs) -> tuple[OpenAICompatibleBackend, list[float]]:
    sleeps: list[float] = []
    kwargs.setdefault("request_timeout_s", 5.0)
    backend = OpenAICompatibleBackend(base_url=server.base_url, sleep=sleeps.append, **kwargs)
    return backend, sleeps


def test_success_returns_the_servers_answers_with_tokens_and_mapped_model(server):
    backend, _ = backend_for(
        server, model_map={"llama3.2-1b": "llama3.2:1b"}, api_key=KEY, concurrency=2
    )
    requests = partition("llama3.2-1b", "EU")
    results = list(backend.generate(requests))

    assert len(results) == len(requests) == 8
    by_question = {r.request.question_id: r for r in results}
    for request in requests:
        result = by_question[request.question_id]
        assert result.ok, result.error_message
        sent = next(
            r["json"]
            for r in server.chat_requests()
            if r["json"]["messages"][-1]["content"] == request.question
        )
        assert result.text == answer_for(sent)
        assert "from Europe" in result.text  # the regional system prompt reached the server
        assert result.served_region == "EU"
        assert result.prompt_tokens == 11 and result.completion_tokens > 0
        assert result.extra["served_model"] == "llama3.2:1b"
    body = server.chat_requests()[0]["json"]
    assert body["model"] == "llama3.2:1b"
    assert body["temperature"] == 0.1 and body["max_tokens"] == 500
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert all(r["headers"]["Authorization"] == f"Bearer {KEY}" for r in server.chat_requests())
    assert KEY not in repr(backend)


def test_429_then_success_honours_retry_after(server):
    server.script.append(Scripted(429, b'{"error": "slow down"}', {"Retry-After": "1"}))
    backend, sleeps = backend_for(server)
    [result] = list(backend.generate(partition()[:1]))

    assert result.ok, result.error_message
    assert sleeps == [1.0]
    assert len(server.chat_requests()) == 2
    assert result.extra["http_attempts"] == 2


def test_retry_after_longer_than_the_bound_goes_back_to_the_orchestrator(server):
    server.script.append(Scripted(429, b"{}", {"Retry-After": "3600"}))
    backend, sleeps = backend_for(server, max_retry_after_s=30)
    [result] = list(backend.generate(partition()[:1]))

    assert result.error_kind is ErrorKind.RATE_LIMITED and result.error_kind.retryable
    assert "3600" in result.error_message
    assert sleeps == [] and len(server.chat_requests()) == 1


def test_500_is_retried_with_backoff_then_reported_retryable(server):
    for _ in range(3):
        server.script.append(Scripted(500, b'{"error": "boom"}'))
    backend, sleeps = backend_for(server, max_attempts=3)
    [result] = list(backend.generate(partition()[:1]))

    assert result.error_kind is ErrorKind.UNAVAILABLE and result.error_kind.retryable
    assert "HTTP 500" in result.error_message and "3 attempts" in result.error_message
    assert sleeps == [1.0, 2.0]  # no Retry-After: exponential backoff
    assert len(server.chat_requests()) == 3


def test_500_then_success(server):
    server.script.append(Scripted(503, b"busy"))
    backend, sleeps = backend_for(server)
    [result] = list(backend.generate(partition()[:1]))
    assert result.ok and len(sleeps) == 1


def test_400_is_permanent_and_not_retried(server):
    server.script.append(Scripted(400, b'{"error": {"message": "bad model"}}'))
    backend, sleeps = backend_for(server, api_key=KEY)
    [result] = list(backend.generate(partition()[:1]))

    assert result.error_kind is ErrorKind.BAD_REQUEST and not result.error_kind.retryable
    assert "HTTP 400" in result.error_message and "bad model" in result.error_message
    assert KEY not in result.error_message
    assert sleeps == [] and len(server.chat_requests()) == 1


@pytest.mark.parametrize(("status", "kind"), [(401, ErrorKind.AUTH), (404, ErrorKind.NOT_FOUND)])
def test_other_4xx_are_permanent(server, status, kind):
    server.script.append(Scripted(status, b"{}"))
    backend, _ = backend_for(server)
    [result] = list(backend.generate(partition()[:1]))
    assert result.error_kind is kind and not kind.retryable


def test_malformed_json_is_a_clear_retryable_error(server):
    server.script.append(Scripted(200, b"{this is not json"))
    backend, _ = backend_for(server)
    [result] = list(backend.generate(partition()[:1]))

    assert result.error_kind is ErrorKind.MALFORMED and result.error_kind.retryable
    assert "malformed JSON" in result.error_message and "{this is not json" in result.error_message


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({"choices": []}, "choices[0]"),
        ({"choices": [{"index": 0}]}, "choices[0].message"),
        ({"choices": [{"message": {"role": "assistant"}}]}, "choices[0].message.content"),
        ([1, 2], "JSON object"),
    ],
)
def test_missing_fields_are_malformed(server, body, missing):
    server.script.append(Scripted(200, json.dumps(body).encode()))
    backend, _ = backend_for(server)
    [result] = list(backend.generate(partition()[:1]))
    assert result.error_kind is ErrorKind.MALFORMED
    assert missing in result.error_message


def test_a_slow_reply_past_the_timeout_is_a_retryable_timeout(server):
    server.script.append(Scripted(delay_s=3.0))
    backend, sleeps = backend_for(server, request_timeout_s=0.3)
    [result] = list(backend.generate(partition()[:1]))

    assert result.error_kind is ErrorKind.TIMEOUT and result.error_kind.retryable
    assert "0.3 s" in result.error_message
    assert sleeps == []


@pytest.mark.integration
def test_an_unreachable_server_is_unavailable():
    with FakeOpenAIServer() as gone:
        url = gone.base_url
    backend = OpenAICompatibleBackend(base_url=url, request_timeout_s=2.0)
    [result] = list(backend.generate(partition()[:1]))
    assert result.error_kind is ErrorKind.UNAVAILABLE and "cannot reach" in result.error_message


def test_requests_run_concurrently_up_to_the_limit(server):
    for delay in (0.5, 0.5, 0.5, 0.2, 0.2, 0.2, 0.2, 0.2):
        server.script.append(Scripted(delay_s=delay))
    backend, _ = backend_for(server, concurrency=3)
    results = list(backend.generate(partition()))

    assert all(r.ok for r in results) and len(results) == 8
    assert server.max_in_flight == 3


def test_region_base_urls_route_each_partition(server):
    with FakeOpenAIServer() as asia:
        backend = OpenAICompatibleBackend(
            base_url=server.base_url, region_base_urls={"ASIA": asia.base_url}
        )
        results = list(backend.generate(partition("qwen2.5-1.5b", "ASIA")))
        assert all(r.ok and r.served_region == "ASIA" for r in results)
        assert len(asia.chat_requests()) == 8 and server.chat_requests() == []


@pytest.mark.integration
def test_preflight_names_an_unserved_model_and_a_refused_key():
    with FakeOpenAIServer(models=["llama3.2:1b"], api_key=KEY) as server:
        good = OpenAICompatibleBackend(
            base_url=server.base_url, model_map={"llama3.2-1b": "llama3.2:1b"}, api_key=KEY
        )
        good.preflight(["llama3.2-1b"], ["US", "EU"])
        with pytest.raises(BackendError) as unserved:
            good.preflight(["llama3.2-1b", "mistral-7b"], ["US"])
        assert unserved.value.kind is ErrorKind.NOT_FOUND
        assert "'mistral-7b'" in str(unserved.value) and "--openai-model-map" in str(unserved.value)
        with pytest.raises(BackendError) as refused:
            OpenAICompatibleBackend(base_url=server.base_url).preflight(["llama3.2-1b"], ["US"])
        assert refused.value.kind is ErrorKind.AUTH and "--openai-api-key-env" in str(refused.value)
        url = server.base_url
    with pytest.raises(BackendError) as down:
        OpenAICompatibleBackend(base_url=url).preflight(["llama3.2-1b"], ["US"])
    assert down.value.kind is ErrorKind.UNAVAILABLE and url in str(down.value)


def test_settings_are_checked():
    with pytest.raises(BackendError, match="not an http"):
        OpenAICompatibleBackend(base_url="127.0.0.1:11434")
    with pytest.raises(BackendError, match="needs a base URL"):
        OpenAICompatibleBackend()
    assert parse_model_map("llama3.2-1b=llama3.2:1b, qwen2.5-1.5b=qwen2.5:1.5b") == {
        "llama3.2-1b": "llama3.2:1b",
        "qwen2.5-1.5b": "qwen2.5:1.5b",
    }
    with pytest.raises(ValueError, match="catalog_id=served_name"):
        parse_model_map("llama3.2-1b")


def test_retry_after_parses_seconds_and_dates():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


def test_a_displayed_base_url_masks_user_info_and_query_values():
    from beacon_pipelines.backends.openai_compatible import display_url

    assert display_url("https://u:pw@h:8/v1?key=k&flag#frag") == "https://***@h:8/v1?key=***&***#***"
    assert display_url("http://127.0.0.1:11434/v1") == "http://127.0.0.1:11434/v1"
    assert display_url("http://[::1") == "(an unreadable URL)"
    with pytest.raises(BackendError, match="cannot carry user info") as refused:
        OpenAICompatibleBackend(base_url="https://sk-secret@api.example/v1")
    assert "sk-secret" not in str(refused.value)
