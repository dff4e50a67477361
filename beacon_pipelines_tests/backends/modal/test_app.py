"""The deployable Modal app: imports without credentials, declares what the catalog says."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import modal
import pytest

from beacon_pipelines.backends.modal import app as modal_app
from beacon_pipelines.backends.modal.deployment import (
    MAX_CONTAINERS_PER_CLASS,
    PROTOCOL,
    SCALEDOWN_WINDOW_S,
    build_spec,
    class_name,
)
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines_tests.conftest import default_catalog_text

MODAL_APP_FILE = Path(modal_app.__file__)


def _no_credentials_env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODAL_")}
    env["HOME"] = str(tmp_path)  # no ~/.modal.toml either
    env["MODAL_CONFIG_PATH"] = str(tmp_path / "absent.toml")
    return env


@pytest.mark.integration
def test_imports_without_credentials_as_modal_deploy_does(tmp_path):
    # `modal deploy beacon_pipelines/backends/modal/app.py` imports the file as a top-level module.
    script = textwrap.dedent(
        f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("modal_app", {str(MODAL_APP_FILE)!r})
        module = importlib.util.module_from_spec(spec)
        sys.modules["modal_app"] = module
        spec.loader.exec_module(module)
        print(module.app.name, len(module.DECLARED), module.SPEC["judge"]["class_name"])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=_no_credentials_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["beacon-inference", "9", "BeaconJudge"]


@pytest.mark.integration
def test_the_container_rebuilds_the_same_classes_without_beacon_installed(tmp_path):
    # Only modal_app.py is shipped: with the spec from the image env, nothing else is imported.
    (tmp_path / "modal_app.py").write_text(MODAL_APP_FILE.read_text())
    script = textwrap.dedent(
        """
        import builtins, json
        real_import = builtins.__import__
        def guarded(name, *args, **kwargs):
            if name.startswith("beacon_pipelines"):
                raise ImportError("no beacon_pipelines in the container")
            return real_import(name, *args, **kwargs)
        builtins.__import__ = guarded
        import modal_app
        judge = modal_app.SPEC["judge"]
        print(json.dumps([sorted(modal_app.DECLARED), judge["hf_id"], modal_app.JUDGE_DECLARED,
                          type(getattr(modal_app, judge["class_name"])).__name__]))
        """
    )
    env = _no_credentials_env(tmp_path)
    env["BEACON_MODAL_SPEC"] = json.dumps(modal_app.SPEC)
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        sorted(modal_app.DECLARED),
        modal_app.SPEC["judge"]["hf_id"],
        modal_app.JUDGE_DECLARED,
        "Cls",
    ]


def test_declared_gpu_regions_timeouts_and_limits_match_the_catalog():
    catalog = load_catalog()
    expected = {class_name(m.id, r.id): (m, r) for m in catalog.models for r in catalog.regions}
    assert sorted(modal_app.DECLARED) == sorted(expected)
    for name, (model, region) in expected.items():
        declared = modal_app.DECLARED[name]
        assert declared["gpu"] == list(model.gpu)  # first preferred, then fallbacks
        assert declared["region"] == region.modal_region
        assert declared["startup_timeout"] >= 600
        assert declared["timeout"] > 0 and declared["startup_timeout"] != declared["timeout"]
        assert declared["scaledown_window"] == SCALEDOWN_WINDOW_S == 600
        assert declared["max_containers"] == MAX_CONTAINERS_PER_CLASS
        # The class Modal registers is the module global of that name, as the container needs.
        assert isinstance(getattr(modal_app, name), modal.Cls)
    entry = next(
        e for e in modal_app.SPEC["classes"] if e["class_name"] == "Beacon_mistral_7b_ASIA"
    )
    assert entry["hf_id"] == "mistralai/Mistral-7B-Instruct-v0.3"
    assert modal_app.DECLARED["Beacon_mistral_7b_ASIA"]["gpu"] == ["A10G", "L4"]
    assert modal_app.DECLARED["Beacon_llama3_2_1b_US"]["gpu"] == ["T4", "L4"]
    assert modal_app.PROTOCOL == PROTOCOL


def test_another_catalog_gives_other_classes(tmp_path):
    text = default_catalog_text()
    text = text.replace("id: EU\n    modal_region: eu", "id: UK\n    modal_region: uk")
    text = text.replace("home_region: EU", "home_region: UK")
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    spec = build_spec(load_catalog(path), app_name="beacon-uk")
    names = {e.class_name for e in spec.classes}
    assert "Beacon_qwen2_5_1_5b_UK" in names and "Beacon_qwen2_5_1_5b_EU" not in names
    assert spec.for_partition("qwen2.5-1.5b", "UK").options["region"] == "uk"
    assert spec.app_name == "beacon-uk"


def test_check_batch_rejects_what_the_class_cannot_serve():
    entry = modal_app.SPEC["classes"][0]
    good = {
        "protocol": PROTOCOL,
        "hf_id": entry["hf_id"],
        "temperature": 0.1,
        "max_new_tokens": 500,
        "items": [{"key": "US|q|0", "system_prompt": "s", "question": "q"}],
    }
    assert modal_app.check_batch(entry, good) == good["items"]
    for change, message in [
        ({"hf_id": "other/model"}, "serves"),
        ({"protocol": 99}, "protocol"),
        ({"items": []}, "non-empty"),
        ({"items": [{"key": "k", "question": "q"}]}, "system_prompt"),
        ({"temperature": "hot"}, "temperature"),
        ({"max_new_tokens": 10_000}, "max_new_tokens"),
    ]:
        with pytest.raises(ValueError, match=message):
            modal_app.check_batch(entry, {**good, **change})


def test_chat_messages_and_receipts():
    assert [m["role"] for m in modal_app.chat_messages("sys", "q", True)] == ["system", "user"]
    [merged] = modal_app.chat_messages("sys", "q", False)
    assert merged == {"role": "user", "content": "sys\n\nq"}
    entry = modal_app.SPEC["classes"][0]
    reply = modal_app.build_reply(
        entry,
        "abc123",
        [{"key": "k"}],
        [{"text": "Paris.", "prompt_tokens": 9, "completion_tokens": 2, "finish_reason": "stop"}],
        {"cold": False},
        modal_app.container_facts({"MODAL_REGION": "us-east-1"}),
    )
    assert reply["model"] == {
        "model_id": entry["model_id"],
        "hf_id": entry["hf_id"],
        "revision": "abc123",
    }
    assert reply["container"]["region"] == "us-east-1"
    [answer] = reply["answers"]
    assert answer["sha256"] == hashlib.sha256(b"Paris.").hexdigest()
