"""`beacon audit --backend ...`, `--dry-run` and its cost estimate, `beacon modal deploy`."""

from __future__ import annotations

import pytest

from beacon_pipelines.backends.modal import deploy as modal_deploy
from beacon_pipelines.backends.modal.cost import estimate_audit_cost
from beacon_pipelines.backends.modal.deployment import build_spec
from beacon_pipelines.backends.modal.pricing import GPU_USD_PER_SECOND, PINNED_REGION_MULTIPLIER
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.cli import main as cli
from beacon_pipelines.cli.audit_runner import AuditOptions, plan_audit
from beacon_pipelines_tests.conftest import default_catalog_text
from beacon_pipelines_tests.support.openai_server import FakeOpenAIServer


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BEACON_STORE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "home"


def test_modal_dry_run_prints_the_classes_and_a_cost_estimate_offline(home, capsys, monkeypatch):
    monkeypatch.delenv("MODAL_TOKEN_ID", raising=False)  # no account needed for an estimate
    argv = ["audit", "--backend", "modal", "--dry-run", "--models", "mistral-7b", "--samples", "1"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "1 models x 3 regions x 8 questions = 24 executions" in out
    assert "Beacon_mistral_7b_ASIA (gpu ['A10G', 'L4'], region 'ap')" in out
    assert "GPU-seconds" in out and "https://modal.com/pricing" in out
    assert not home.exists()  # nothing written, not even the instance


def test_the_estimate_is_gpu_seconds_times_the_published_price():
    catalog = load_catalog()
    plan = plan_audit(AuditOptions(backend="modal"), catalog)
    cost = estimate_audit_cost(build_spec(catalog), plan, catalog.generation.max_new_tokens)
    assert len(cost.partitions) == 9
    small = next(p for p in cost.partitions if p.model == "llama3.2-1b")
    big = next(p for p in cost.partitions if p.model == "mistral-7b")
    rate = PINNED_REGION_MULTIPLIER
    assert small.usd == pytest.approx(small.gpu_seconds * GPU_USD_PER_SECOND["T4"] * rate)
    assert small.usd_fallback == pytest.approx(small.gpu_seconds * GPU_USD_PER_SECOND["L4"] * rate)
    assert big.usd == pytest.approx(big.gpu_seconds * GPU_USD_PER_SECOND["A10G"] * rate)
    assert cost.usd == pytest.approx(sum(p.usd for p in cost.partitions))
    # Each container is billed while it idles through the scaledown window.
    assert small.gpu_seconds > 600 and cost.ceiling_usd > cost.usd_fallback > cost.usd


def test_openai_needs_a_base_url_and_well_formed_options(home, capsys):
    assert cli.main(["audit", "--backend", "openai"]) == 2
    assert "--openai-base-url" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad_map:
        cli.main(["audit", "--backend", "openai", "--openai-model-map", "llama3.2-1b"])
    assert bad_map.value.code == 2
    assert "catalog_id=served_name" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["audit", "--backend", "openai", "--openai-concurrency", "0"])


@pytest.mark.integration
def test_an_unreachable_server_or_unset_key_fails_before_the_store(home, capsys, monkeypatch):
    with FakeOpenAIServer() as gone:
        url = gone.base_url
    assert cli.main(["audit", "--backend", "openai", "--openai-base-url", url]) == 2
    assert f"cannot reach the OpenAI-compatible server at {url}" in capsys.readouterr().err
    monkeypatch.delenv("NOT_SET_KEY", raising=False)
    argv = ["audit", "--backend", "openai", "--openai-base-url", url]
    assert cli.main([*argv, "--openai-api-key-env", "NOT_SET_KEY"]) == 2
    assert "NOT_SET_KEY (--openai-api-key-env) is not set" in capsys.readouterr().err
    assert not (home / "beacon.db").exists()


@pytest.mark.integration
def test_modal_deploy_runs_modal_deploy_on_the_app_file(tmp_path, capsys):
    calls = []

    def run(command, env):
        calls.append((command, env))
        return 0

    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(default_catalog_text())
    assert (
        modal_deploy.deploy(catalog, app_name="beacon-test", hf_secret="", env="dev", run=run) == 0
    )
    [(command, env)] = calls
    assert command[1:] == [
        "-m",
        "modal",
        "deploy",
        str(modal_deploy.MODAL_APP_PATH),
        "--env",
        "dev",
    ]
    assert env["BEACON_CATALOG"] == str(catalog.resolve())
    assert env["BEACON_MODAL_APP"] == "beacon-test" and env["BEACON_MODAL_HF_SECRET"] == ""

    catalog.write_text("version: 1\nregions: []\n")
    assert modal_deploy.deploy(catalog, run=run) == 2 and len(calls) == 1
    assert "beacon modal deploy: error:" in capsys.readouterr().err
