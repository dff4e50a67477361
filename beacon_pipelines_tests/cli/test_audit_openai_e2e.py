"""`beacon audit --backend openai` runs a whole audit against a real local server."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.catalog.model import localized
from beacon_pipelines_tests.support.openai_server import FakeOpenAIServer

KEY = "sk-e2e-secret-never-written-9f3a"


@pytest.mark.integration
def test_a_whole_audit_against_a_local_openai_compatible_server(tmp_path):
    catalog = load_catalog()
    served = {"llama3.2-1b": "llama3.2:1b", "qwen2.5-1.5b": "qwen2.5:1.5b"}
    listed = [served.get(m, m) for m in catalog.model_ids]
    with FakeOpenAIServer(models=listed, api_key=KEY) as server:
        env = {k: v for k, v in os.environ.items() if k != "BEACON_STORE_URL"}
        env.update(DAGSTER_HOME=str(tmp_path / "home"), BEACON_TEST_OPENAI_KEY=KEY)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "beacon_pipelines.cli",
                "audit",
                "--backend",
                "openai",
                "--openai-base-url",
                server.base_url,
                "--openai-model-map",
                ",".join(f"{k}={v}" for k, v in served.items()),
                "--openai-api-key-env",
                "BEACON_TEST_OPENAI_KEY",
                "--openai-concurrency",
                "3",
                "--samples",
                "1",
                "--out",
                str(tmp_path / "out"),
            ],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        chat = server.chat_requests()

    assert f"report: {tmp_path / 'out' / 'report.html'}" in done.stdout
    executions = pd.read_csv(tmp_path / "out" / "executions.csv")
    assert len(executions) == len(chat) == 72
    assert set(executions["status"]) == {"succeeded"} and set(executions["backend"]) == {"openai"}
    assert not executions["simulated"].any()
    for row in executions.itertuples():
        region = catalog.region(row.region)
        question = catalog.question(row.question_id)
        model = served.get(row.model, row.model)
        # Exactly what the server answered for that model, region prompt and question.
        context = localized(region.prompt_context, row.language)
        assert row.response == f"[{model}] from {context}: {question.text}"
    assert all(r["headers"]["Authorization"] == f"Bearer {KEY}" for r in chat)

    # The key travelled as an environment variable only: no file Beacon or Dagster wrote has it.
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
