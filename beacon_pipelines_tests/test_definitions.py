"""The code location loads the way the UI and the daemon load it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from beacon_pipelines_tests.conftest import PROJECT_DIR, cli_env


def _tool(name: str, *args: str, home: Path, **env: str) -> str:
    """Run a console script of this venv from the project folder; its output, after exit 0."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name(name)), *args],
        cwd=PROJECT_DIR,
        env=cli_env(home, **env),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.mark.integration
def test_dagster_definitions_validate_passes_over_workspace_yaml(dagster_home: Path):
    output = _tool("dagster", "definitions", "validate", "-w", "workspace.yaml", home=dagster_home)
    assert "Validation successful" in output


@pytest.mark.integration
def test_dg_check_defs_finds_the_project_under_defs(dagster_home: Path):
    """`dg` (as `make dev` runs it) finds the project by pyproject.toml and loads defs/."""
    venv = str(Path(sys.executable).parents[1])
    output = _tool("dg", "check", "defs", home=dagster_home, VIRTUAL_ENV=venv)
    assert "All definitions loaded successfully" in output


def test_graph_shape():
    from beacon_pipelines.catalog import load_catalog
    from beacon_pipelines.defs.audit_graph import build_definitions

    defs = build_definitions(load_catalog())
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {"inference_responses", "answer_judgements", "bias_analysis", "bias_report"}
    inference = defs.get_assets_def("inference_responses")
    assert len(inference.partitions_def.get_partition_keys()) == 9
    assert inference.op.pool == "gpu"
    # The judge's calls count against the same cap, partition by partition.
    judgements = defs.get_assets_def("answer_judgements")
    assert judgements.op.pool == "gpu"
    assert judgements.partitions_def == inference.partitions_def
    assert graph.get(judgements.key).parent_keys == {inference.key}
    assert judgements.key in graph.get(defs.get_assets_def("bias_analysis").key).parent_keys
