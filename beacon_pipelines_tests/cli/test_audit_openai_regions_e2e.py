"""`beacon audit` with one OpenAI-compatible server per region, one of which serves from a
cloud region that is not its own: the mismatched answers fail over, the report and exports
say where every answer was served, and `beacon verify` finds the folder intact."""

from __future__ import annotations

import contextlib
import subprocess
import sys

import pandas as pd
import pytest

from beacon_pipelines_tests.conftest import cli_env
from beacon_pipelines_tests.support.openai_server import FakeOpenAIServer

HEADER = "X-Served-Region"
MODEL = "llama3.2-1b"


def beacon(*argv, env, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "beacon_pipelines.cli", *argv],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=600,
    )


@pytest.mark.integration
def test_an_audit_across_regional_servers_verifies_where_answers_were_served(
    tmp_path, small_catalog
):
    clouds = {"US": "us-east-1", "EU": "us-west-2", "ASIA": "asia-east1"}  # EU's is in the US
    with contextlib.ExitStack() as stack:
        servers = {
            region: stack.enter_context(
                FakeOpenAIServer(
                    # ASIA's server lists no models: a warning, and the audit goes on.
                    models=[] if region == "ASIA" else [MODEL],
                    reply_headers={HEADER: cloud},
                )
            )
            for region, cloud in clouds.items()
        }
        env = cli_env(tmp_path / "home", BEACON_SIGNING_KEY="e2e-signing-key")
        urls = [f"--openai-region-url={r}={s.base_url}" for r, s in servers.items()]
        done = beacon(
            "audit", "--samples", "1",
            "--backend", "openai", "--catalog", str(small_catalog), "--models", MODEL,
            "--audit-id", "regions-e2e", *urls, "--openai-region-header", HEADER,
            "--out", str(tmp_path / "out"),
            env=env, cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"{servers['ASIA'].base_url} does not list its models usably" in done.stdout

    rows = pd.read_csv(tmp_path / "out" / "executions.csv", keep_default_na=False)
    eu = rows[rows["region"] == "EU"].sort_values(["question_id", "attempt"])
    assert eu["status"].tolist() == ["failed", "succeeded"] * 2
    assert set(eu["error_type"]) == {"region_mismatch", ""}
    assert eu["served_cloud_region"].tolist() == ["us-west-2", "asia-east1"] * 2
    assert eu["region_verified"].tolist() == ["no", "yes"] * 2
    assert eu["served_region"].tolist() == ["US", "ASIA"] * 2  # failed over to ASIA
    others = rows[rows["region"] != "EU"]
    assert set(others["status"]) == {"succeeded"} and set(others["region_verified"]) == {"yes"}

    page = (tmp_path / "out" / "report.html").read_text()
    assert "Where the answers were served" in page
    # EU's row: its answers served in asia-east1, the two from us-west-2 refused.
    assert "<td>asia-east1 (2)</td><td></td><td></td><td>us-west-2 (2)</td>" in page

    intact = beacon("verify", str(tmp_path / "out"), env=env, cwd=tmp_path)
    assert intact.returncode == 0 and "signature: valid" in intact.stdout
    (tmp_path / "out" / "analysis.csv").write_text("forged\n")
    tampered = beacon("verify", str(tmp_path / "out"), env=env, cwd=tmp_path)
    assert tampered.returncode == 1 and "changed: analysis.csv" in tampered.stdout
