"""The code location loads the way the UI and the daemon load it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from beacon_pipelines_tests.conftest import PROJECT_DIR, cli_env


def test_dagster_definitions_validate_passes_over_workspace_yaml(dagster_home: Path):
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_DIR,
        env=cli_env(dagster_home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_graph_shape():
    from beacon_pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {"inference_responses", "bias_analysis", "bias_report"}
    inference = defs.get_assets_def("inference_responses")
    assert len(inference.partitions_def.get_partition_keys()) == 9
    assert inference.op.pool == "gpu"
