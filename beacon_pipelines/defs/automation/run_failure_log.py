"""The run-failure log: one JSON line per failed Dagster run, in $DAGSTER_HOME.

A file next to the instance is where a user looks first (`tail beacon_run_failures.jsonl`),
and it outlives the run's own logs being pruned.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FAILURE_LOG_NAME = "beacon_run_failures.jsonl"


def failure_log_path(dagster_home: str | os.PathLike) -> Path:
    return Path(dagster_home) / FAILURE_LOG_NAME


def append_failure(path: Path, record: dict) -> None:
    """Append one record as one line; a single write keeps concurrent appends whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True, default=str) + "\n"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line)


def read_failures(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
