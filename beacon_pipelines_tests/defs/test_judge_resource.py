"""The judge resource: no judge by default; a judge built from settings, its key only from the
variable it names; a judge that cannot be built fails the step for good."""

from __future__ import annotations

import pytest
from dagster import Failure

from beacon_pipelines.cli.audit_runner import AuditOptions, backend_run_config, partition_job
from beacon_pipelines.cli.judge_options import JudgeSettings
from beacon_pipelines.defs.jobs import INFERENCE_JOB, JUDGED_INFERENCE_JOB
from beacon_pipelines.defs.resources import JudgeResource, judge_resource_from_environment


def test_no_judge_by_default_and_an_audit_without_one_runs_as_before():
    assert JudgeResource().get_judge() is None
    assert judge_resource_from_environment({}).kind == "none"
    options = AuditOptions()
    assert partition_job(options) == INFERENCE_JOB
    assert "judge" not in backend_run_config(options)["resources"]


def test_a_judge_from_settings_names_its_key_variable_never_the_key(monkeypatch):
    monkeypatch.setenv("MY_JUDGE_KEY", "sk-judge-value-not-in-config")
    settings = JudgeSettings(
        kind="openai", base_url="http://127.0.0.1:9/v1", model="judge-m",
        api_key_env="MY_JUDGE_KEY", batch_size=8,
    )
    options = AuditOptions(judge=settings)
    assert partition_job(options) == JUDGED_INFERENCE_JOB
    config = backend_run_config(options)["resources"]["judge"]["config"]
    assert config["api_key_env"] == "MY_JUDGE_KEY" and config["batch_size"] == 8
    assert "sk-judge-value-not-in-config" not in repr(config)
    judge = JudgeResource(**config).get_judge()
    assert (judge.kind, judge.model, len(judge.prompt_sha256)) == ("openai", "judge-m", 64)
    assert "sk-judge-value" not in repr(judge)


def test_the_environment_may_name_the_code_locations_judge():
    resource = judge_resource_from_environment({
        "BEACON_JUDGE_KIND": "openai", "BEACON_JUDGE_BASE_URL": "http://127.0.0.1:9/v1",
        "BEACON_JUDGE_MODEL": "judge-m", "BEACON_JUDGE_API_KEY_ENV": "MY_JUDGE_KEY",
    })
    assert (resource.kind, resource.model, resource.api_key_env) == (
        "openai", "judge-m", "MY_JUDGE_KEY"
    )


@pytest.mark.parametrize(
    "settings, named",
    [
        ({"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}, "--judge-model"),
        ({"kind": "openai", "model": "judge-m"}, "--judge-base-url"),
        ({"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "judge-m",
          "api_key_env": "BEACON_TEST_UNSET_JUDGE_KEY"}, "BEACON_TEST_UNSET_JUDGE_KEY"),
        ({"kind": "gpt"}, "'gpt'"),
    ],
)
def test_a_judge_that_cannot_be_built_fails_without_retries(settings, named, monkeypatch):
    monkeypatch.delenv("BEACON_TEST_UNSET_JUDGE_KEY", raising=False)
    with pytest.raises(Failure) as failure:
        JudgeResource(**settings).get_judge()
    assert named in str(failure.value) and failure.value.allow_retries is False
