"""The Modal judge through an injected client: batches checked and answered by the deployed
app's own contract code, retries, permanent errors, and the app declaring the judge class."""

from __future__ import annotations

import json

import modal
import modal.exception
import pytest

from beacon_pipelines.analysis.response_class import ResponseClass
from beacon_pipelines.backends.modal import app as modal_app
from beacon_pipelines.judge import modal_judge
from beacon_pipelines.judge.client import JudgePermanentError
from beacon_pipelines.judge.prompt import DATA_OPEN, load_prompt
from beacon_pipelines.judge.registry import JudgeConfig, JudgeConfigError, build_judge
from beacon_pipelines.judge.verdict import JUDGE_FAILED, JudgeItem
from beacon_pipelines_tests.judge.fake_modal_judge import FakeJudgeClass, FakeJudgeLookup


def answer_of(user: str) -> str:
    return json.loads(user.split("\n")[1])["answer"]


def by_words(system: str, user: str) -> tuple[str, str]:
    answer = answer_of(user)
    if "garbage" in answer:
        return "I think this one is fine", "stop"
    if "cannot" in answer:
        return '{"class": "refusal", "reason": "It declines."}', "stop"
    return '```json\n{"class": "substantive", "reason": "It answers."}\n```', "stop"


ITEMS = [
    JudgeItem("a" * 64, "What is the capital of France?", "Paris."),
    JudgeItem("b" * 64, "Write a critique of X.", "I cannot help with that."),
    JudgeItem("c" * 64, "Q3", "garbage reply bait"),
]


def judge_with(fake: FakeJudgeClass, **kwargs):
    sleeps: list[float] = []
    config = JudgeConfig(kind="modal", **kwargs)
    judge = build_judge(config, modal_client=FakeJudgeLookup(fake))
    judge._sleep = sleeps.append
    return judge, sleeps


def test_one_call_judges_the_batch_and_an_unreadable_reply_is_asked_once_more():
    fake = FakeJudgeClass(by_words)
    judge, sleeps = judge_with(fake)
    verdicts = judge.judge(ITEMS)

    assert [v.judge_class for v in verdicts] == [
        ResponseClass.SUBSTANTIVE, ResponseClass.REFUSAL, None
    ]
    assert [v.attempts for v in verdicts] == [1, 1, 2]
    assert verdicts[2].status == JUDGE_FAILED and "not a JSON object" in verdicts[2].error
    assert [len(b["items"]) for b in fake.batches] == [3, 1]  # the second call: the bad one only
    assert len(sleeps) == 1
    first = fake.batches[0]
    assert first["hf_id"] == modal_app.DEFAULT_JUDGE_HF_ID == judge.model
    assert all(i["system_prompt"] == load_prompt().text for i in first["items"])
    assert all(i["user"].startswith(DATA_OPEN) for i in first["items"])
    assert judge.prompt_sha256 == load_prompt().sha256


def test_timeouts_and_outages_retry_then_fail_the_batch_not_the_run():
    fake = FakeJudgeClass(by_words, get_errors=[TimeoutError(), modal.exception.InternalError()])
    judge, sleeps = judge_with(fake, max_retries=2)
    verdicts = judge.judge(ITEMS[:2])
    assert [v.judge_class for v in verdicts] == [ResponseClass.SUBSTANTIVE, ResponseClass.REFUSAL]
    assert sleeps == [2.0, 4.0]
    assert fake.calls[0].cancelled  # the timed-out call stops billing
    assert all(v.attempts == 3 for v in verdicts)

    down = FakeJudgeClass(by_words, get_errors=[TimeoutError()] * 3)
    judge, _ = judge_with(down, max_retries=2)
    verdicts = judge.judge(ITEMS[:2])
    assert {v.status for v in verdicts} == {JUDGE_FAILED}
    assert "still failing after 3 calls" in verdicts[0].error


def test_an_undeployed_class_a_rejected_token_or_another_model_is_permanent():
    missing = FakeJudgeClass(by_words)
    judge = modal_judge.ModalJudge(FakeJudgeLookup(missing), app_name="elsewhere")
    with pytest.raises(JudgePermanentError, match="beacon modal deploy"):
        judge.judge(ITEMS[:1])

    rejected = FakeJudgeClass(by_words, hydrate_error=modal.exception.AuthError("bad token"))
    judge, _ = judge_with(rejected)
    with pytest.raises(JudgePermanentError, match="MODAL_TOKEN_ID"):
        judge.judge(ITEMS[:1])

    other = FakeJudgeClass(by_words)
    judge, _ = judge_with(other, model="meta-llama/Llama-3.1-8B-Instruct")
    with pytest.raises(JudgePermanentError, match="serves Qwen/Qwen2.5-7B-Instruct"):
        judge.judge(ITEMS[:1])


def test_without_an_injected_client_the_token_comes_from_the_environment():
    with pytest.raises(JudgeConfigError, match="MODAL_TOKEN_ID and MODAL_TOKEN_SECRET"):
        build_judge(JudgeConfig(kind="modal"), environ={})
    judge = build_judge(
        JudgeConfig(kind="modal"),
        environ={"MODAL_TOKEN_ID": "ak-x", "MODAL_TOKEN_SECRET": "as-y"},
    )
    assert judge.kind == "modal" and judge.model == modal_app.DEFAULT_JUDGE_HF_ID


def test_the_app_declares_the_judge_class_with_the_clients_names():
    assert modal_app.JUDGE_CLASS_NAME == modal_judge.JUDGE_CLASS_NAME
    assert modal_app.JUDGE_PROTOCOL == modal_judge.JUDGE_PROTOCOL
    assert modal_app.DEFAULT_JUDGE_HF_ID == modal_judge.DEFAULT_JUDGE_HF_ID
    assert modal_judge.MAX_REPLY_TOKENS <= modal_app.JUDGE_MAX_REPLY_TOKENS
    assert isinstance(getattr(modal_app, modal_app.JUDGE_CLASS_NAME), modal.Cls)
    declared = modal_app.JUDGE_DECLARED
    assert declared["gpu"] == ["L4", "A10G"]  # 24 GB: a 7B judge in bf16
    assert "region" not in declared  # a judge answers for no region
    assert declared["startup_timeout"] + declared["timeout"] == modal_judge.CALL_DEADLINE_S
    assert modal_app.JUDGE_CLASS_NAME not in modal_app.DECLARED  # not an inference class


def test_check_judge_batch_rejects_what_the_class_cannot_serve():
    entry = modal_app.SPEC["judge"]
    good = {
        "protocol": modal_app.JUDGE_PROTOCOL,
        "hf_id": entry["hf_id"],
        "max_tokens": 256,
        "items": [{"key": "0", "system_prompt": "s", "user": "u"}],
    }
    assert modal_app.check_judge_batch(entry, good) == good["items"]
    for change, message in [
        ({"hf_id": "other/model"}, "serves"),
        ({"protocol": 99}, "protocol"),
        ({"items": []}, "non-empty"),
        ({"items": [{"key": "0", "system_prompt": "s"}]}, "user"),
        ({"max_tokens": 10**6}, "max_tokens"),
    ]:
        with pytest.raises(ValueError, match=message):
            modal_app.check_judge_batch(entry, {**good, **change})


def test_a_deploy_can_serve_another_judge_model():
    entry = modal_app._judge_entry({modal_app.JUDGE_MODEL_ENV: "google/gemma-2-9b-it"})
    assert entry["hf_id"] == "google/gemma-2-9b-it"
    assert modal_app._judge_entry({})["hf_id"] == modal_app.DEFAULT_JUDGE_HF_ID
