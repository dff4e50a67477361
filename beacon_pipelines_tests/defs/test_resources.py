"""The backend resource and the CLI's run config: settings in, secrets only by env var name."""

from __future__ import annotations

import pytest
from dagster import DagsterInstance, EnvVar, Failure, instance_for_test

from beacon_pipelines.backends.modal.backend import ModalBackend
from beacon_pipelines.backends.openai_compatible import OpenAICompatibleBackend
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.cli.audit_runner import AuditOptions, backend_run_config
from beacon_pipelines.cli.backend_options import BackendSettings
from beacon_pipelines.defs.audit_graph import build_definitions
from beacon_pipelines.defs.jobs import INFERENCE_JOB
from beacon_pipelines.defs.partitions import partition_key
from beacon_pipelines.defs.resources import (
    InferenceBackendResource,
    backend_resource_from_environment,
)
from beacon_pipelines.defs.tags import AUDIT_ID_TAG
from beacon_pipelines.store import ExecutionStore

defs = build_definitions(load_catalog())


def test_run_config_names_env_vars_never_values(monkeypatch):
    monkeypatch.setenv("MY_OPENAI_KEY", "sk-value-not-in-config")
    settings = BackendSettings(
        openai_base_url="http://127.0.0.1:11434/v1",
        openai_model_map={"llama3.2-1b": "llama3.2:1b"},
        openai_api_key_env="MY_OPENAI_KEY",
        openai_concurrency=2,
    )
    config = backend_run_config(AuditOptions(backend="openai", backend_settings=settings))
    assert config["resources"]["backend"]["config"] == {
        "kind": "openai",
        "openai_base_url": "http://127.0.0.1:11434/v1",
        "openai_model_map": {"llama3.2-1b": "llama3.2:1b"},
        "openai_concurrency": 2,
        "openai_api_key": {"env": "MY_OPENAI_KEY"},
    }
    modal = backend_run_config(AuditOptions(backend="modal"))["resources"]["backend"]["config"]
    assert modal["modal_token_id"] == {"env": "MODAL_TOKEN_ID"}
    assert modal["modal_token_secret"] == {"env": "MODAL_TOKEN_SECRET"}


def test_the_resource_builds_each_backend(monkeypatch):
    openai = InferenceBackendResource(
        kind="openai",
        openai_base_url="http://127.0.0.1:11434/v1",
        openai_model_map={"mistral-7b": "mistral:7b"},
        openai_concurrency=5,
    ).get_backend()
    assert isinstance(openai, OpenAICompatibleBackend)
    assert openai.served_model("mistral-7b") == "mistral:7b" and openai.concurrency == 5

    modal = InferenceBackendResource(
        kind="modal", modal_token_id="ak-1", modal_token_secret="as-1", cold_start_timeout_s=700
    ).get_backend()
    assert isinstance(modal, ModalBackend) and modal.deadline_s == 700 + 600

    with pytest.raises(Failure) as failure:
        InferenceBackendResource(kind="modal").get_backend()
    assert not failure.value.allow_retries and "MODAL_TOKEN_ID" in str(failure.value)


def test_credentials_bind_as_env_vars_only_when_present(monkeypatch):
    monkeypatch.delenv("MODAL_TOKEN_ID", raising=False)
    monkeypatch.delenv("MODAL_TOKEN_SECRET", raising=False)
    assert backend_resource_from_environment().modal_token_id is None
    monkeypatch.setenv("MODAL_TOKEN_ID", "ak-secret-value")
    monkeypatch.setenv("MODAL_TOKEN_SECRET", "as-secret-value")
    bound = backend_resource_from_environment()
    assert isinstance(bound.modal_token_id, EnvVar) and bound.modal_token_id == "MODAL_TOKEN_ID"


def test_a_ui_run_on_modal_without_credentials_fails_once_and_writes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'beacon.db'}"
    run_config = {
        "resources": {
            "backend": {"config": {"kind": "modal"}},
            "store": {"config": {"url": url}},
        }
    }
    with instance_for_test() as instance:
        assert isinstance(instance, DagsterInstance)
        result = defs.resolve_job_def(INFERENCE_JOB).execute_in_process(
            run_config=run_config,
            instance=instance,
            partition_key=partition_key("llama3.2-1b", "US"),
            tags={AUDIT_ID_TAG: "audit-ui-modal"},
            raise_on_error=False,
        )
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    error = failures[0].step_failure_data.error
    assert len(failures) == 1 and "Modal credentials missing" in error.message
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    store = ExecutionStore(url)
    assert store.list_audits() == [] and store.executions_frame("audit-ui-modal").empty
