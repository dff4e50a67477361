"""The code location: every definition found under beacon_pipelines/defs (see defs/audit_graph.py).

Loaded by `dg dev`, `dagster dev -w workspace.yaml` and `dagster api grpc --module-name
beacon_pipelines.definitions`.
"""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
