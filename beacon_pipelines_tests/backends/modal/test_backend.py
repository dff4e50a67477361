"""The Modal backend through an injected fake of the looked-up class handle (no account)."""

from __future__ import annotations

import builtins
import os
import subprocess
import sys
from pathlib import Path

import modal.exception as mx
import pytest

from beacon_pipelines.backends.base import BackendError, ErrorKind
from beacon_pipelines.backends.modal.backend import ModalBackend, classify_modal_error
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.execution import run_partition
from beacon_pipelines.store import ExecutionStore
from beacon_pipelines_tests.support.fake_modal import FakeDeployment, fake_text
from beacon_pipelines_tests.support.requests_factory import partition, plan_for


def backend_with(deployment: FakeDeployment, **kwargs) -> ModalBackend:
    return ModalBackend(lookup=deployment, **kwargs)


def test_a_partition_is_one_call_to_its_regions_class_and_yields_receipts():
    deployment = FakeDeployment()
    backend = backend_with(deployment, cold_start_timeout_s=900, execution_timeout_s=600)
    requests = partition("qwen2.5-1.5b", "EU")
    results = list(backend.generate(requests))

    assert deployment.looked_up == [("beacon-inference", "Beacon_qwen2_5_1_5b_EU")]
    handle = deployment.handles["Beacon_qwen2_5_1_5b_EU"]
    spawns = [entry for entry in handle.log if entry[0] == "spawn"]
    assert len(spawns) == 1  # the whole partition in one call
    batch = spawns[0][1]
    assert batch["hf_id"] == "Qwen/Qwen2.5-1.5B-Instruct"
    assert batch["temperature"] == 0.1 and batch["max_new_tokens"] == 500
    assert len(batch["items"]) == 8
    assert all("based in Europe" in item["system_prompt"] for item in batch["items"])
    assert ("get", 1500) in handle.log  # client deadline = cold start + execution

    assert len(results) == 8 and all(r.ok for r in results)
    for request, result in zip(requests, results, strict=True):
        assert result.request == request
        assert result.text == fake_text(
            {"system_prompt": request.system_prompt, "question": request.question}
        )
        assert result.served_region == "EU"
        assert result.prompt_tokens == 40 and result.completion_tokens > 0
        assert not result.simulated
        assert result.extra["cloud_region"] == "eu-west-1"  # observed inside the container
        assert result.extra["cloud_provider"] == "CLOUD_PROVIDER_AWS"
        assert result.extra["task_id"] == "ta-test"
        assert result.extra["call_id"] == handle.calls[0].object_id
        assert result.extra["finish_reason"] == "stop"
        assert result.extra["model_revision"] == "0123abc"
        assert result.extra["hf_id"] == "Qwen/Qwen2.5-1.5B-Instruct"
        assert result.extra["gpu"] == "Tesla T4" and result.extra["cold_start"] is True


def test_a_failover_attempt_goes_to_the_target_regions_class():
    deployment = FakeDeployment()
    requests = partition("mistral-7b", "ASIA", target="US")
    results = list(backend_with(deployment).generate(requests))

    assert deployment.looked_up == [("beacon-inference", "Beacon_mistral_7b_US")]
    # Served from the US, but asked as from Asia: the prompt is the requested region's.
    assert all(r.ok and r.served_region == "US" for r in results)
    assert all(r.text.startswith("From Asia") for r in results)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (mx.FunctionTimeoutError("function timed out"), ErrorKind.TIMEOUT),
        (builtins.TimeoutError("deadline"), ErrorKind.TIMEOUT),
        (mx.InternalFailure("retry me"), ErrorKind.UNAVAILABLE),
        (mx.ConnectionError("cannot connect"), ErrorKind.UNAVAILABLE),
        (mx.ResourceExhaustedError("no GPUs"), ErrorKind.RATE_LIMITED),
        (mx.AuthError("bad token"), ErrorKind.AUTH),
        (mx.NotFoundError("no such app"), ErrorKind.NOT_FOUND),
        (mx.InvalidError("bad argument"), ErrorKind.BAD_REQUEST),
        (ValueError("raised by check_batch in the container"), ErrorKind.BAD_REQUEST),
        (RuntimeError("CUDA out of memory"), ErrorKind.UNAVAILABLE),
    ],
)
def test_modal_errors_map_to_retryable_or_permanent(error, kind):
    assert classify_modal_error(error) is kind
    name = "Beacon_llama3_2_1b_US"
    for where in ("spawn_error", "get_error"):
        deployment = FakeDeployment(**{name: {where: error}})
        with pytest.raises(BackendError) as raised:
            list(backend_with(deployment).generate(partition("llama3.2-1b", "US")))
        assert raised.value.kind is kind
        assert raised.value.retryable == kind.retryable
        if not (where == "get_error" and type(error) is builtins.TimeoutError):  # the deadline
            assert type(error).__name__ in str(raised.value)


def test_the_client_deadline_cancels_the_call():
    name = "Beacon_llama3_2_1b_US"
    deployment = FakeDeployment(**{name: {"get_error": builtins.TimeoutError()}})
    backend = backend_with(deployment, cold_start_timeout_s=900, execution_timeout_s=600)
    with pytest.raises(BackendError) as raised:
        list(backend.generate(partition("llama3.2-1b", "US")))
    assert raised.value.kind is ErrorKind.TIMEOUT and raised.value.retryable
    assert "1500 s" in str(raised.value) and "cancelled" in str(raised.value)
    assert deployment.handles[name].log[-1] == ("cancel",)


def test_an_interrupted_wait_cancels_the_call():
    # `beacon cancel`, Ctrl-C or the UI's Terminate interrupt the worker while it waits.
    name = "Beacon_llama3_2_1b_US"
    deployment = FakeDeployment(**{name: {"get_error": KeyboardInterrupt()}})
    with pytest.raises(KeyboardInterrupt):
        list(backend_with(deployment).generate(partition("llama3.2-1b", "US")))
    assert deployment.handles[name].log[-1] == ("cancel",)


def test_a_request_the_deployed_class_cannot_serve_is_permanent():
    # The deployment was built from another catalog: the class checks the model it serves.
    name = "Beacon_llama3_2_1b_US"
    other = {"class_name": name, "model_id": "x", "hf_id": "someone/else", "region_id": "US"}
    deployment = FakeDeployment()
    deployment.entries[name] = other
    with pytest.raises(BackendError) as raised:
        list(backend_with(deployment).generate(partition("llama3.2-1b", "US")))
    assert raised.value.kind is ErrorKind.BAD_REQUEST and not raised.value.retryable
    assert "redeploy" in str(raised.value)


def test_a_reply_failing_its_checks_is_malformed():
    name = "Beacon_llama3_2_1b_US"

    def corrupt(reply):
        reply["answers"][0]["text"] += " (altered in transit)"
        del reply["answers"][1]

    deployment = FakeDeployment(**{name: {"tamper": corrupt}})
    results = list(backend_with(deployment).generate(partition("llama3.2-1b", "US")))
    assert [r.error_kind for r in results[:2]] == [ErrorKind.MALFORMED, ErrorKind.MALFORMED]
    assert "sha256" in results[0].error_message and "no answer" in results[1].error_message
    assert all(r.ok for r in results[2:])

    deployment = FakeDeployment(**{name: {"tamper": lambda reply: reply.pop("container")}})
    results = list(backend_with(deployment).generate(partition("llama3.2-1b", "US")))
    assert {r.error_kind for r in results} == {ErrorKind.MALFORMED}


def test_preflight_names_an_undeployed_app_before_any_call():
    deployment = FakeDeployment()
    backend = ModalBackend(app_name="not-deployed", lookup=deployment)
    with pytest.raises(BackendError) as raised:
        backend.preflight(["llama3.2-1b"], ["US", "EU", "ASIA"])
    assert raised.value.kind is ErrorKind.NOT_FOUND
    assert "'not-deployed'" in str(raised.value) and "beacon modal deploy" in str(raised.value)
    assert all(("spawn" not in e[0]) for h in deployment.handles.values() for e in h.log)

    deployed = FakeDeployment()
    backend_with(deployed).preflight(["llama3.2-1b", "mistral-7b"], ["US", "EU", "ASIA"])
    assert len(deployed.looked_up) == 6
    assert all(h.log == [("hydrate",)] for h in deployed.handles.values())  # nothing started


def test_missing_credentials_fail_at_construction():
    with pytest.raises(BackendError) as raised:
        ModalBackend(token_id="ak-123", token_secret=None)
    assert raised.value.kind is ErrorKind.AUTH
    assert str(raised.value).startswith("Modal credentials missing: MODAL_TOKEN_SECRET not set")


def test_every_answer_lands_in_the_store(tmp_path):
    catalog = load_catalog()
    plan = plan_for(catalog, "audit-modal")
    store = ExecutionStore(f"sqlite:///{tmp_path / 'beacon.db'}").create()
    store.register_audit(plan)
    outcome = run_partition(
        store, backend_with(FakeDeployment()), catalog, plan, "mistral-7b", "ASIA"
    )
    assert outcome.complete
    frame = store.executions_frame("audit-modal")
    assert len(frame) == 8 and set(frame["backend"]) == {"modal"}
    assert set(frame["served_region"]) == {"ASIA"} and not frame["simulated"].any()
    assert frame["response"].str.startswith("From Asia").all()


@pytest.mark.integration
def test_cli_without_credentials_fails_fast_and_writes_nothing(tmp_path):
    home = tmp_path / "dagster_home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODAL_")}
    env.update(DAGSTER_HOME=str(home), HOME=str(tmp_path), BEACON_STORE_URL="")
    done = subprocess.run(
        [sys.executable, "-m", "beacon_pipelines.cli", "audit", "--backend", "modal"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Modal credentials missing: MODAL_TOKEN_ID and MODAL_TOKEN_SECRET not set" in (
        done.stderr
    )
    assert not (home / "beacon.db").exists()  # the store was never opened: nothing in it
    assert not list(Path(tmp_path).glob("reports/*"))
