"""Whether an instance enforces its pools per run (in the daemon's run queue) or per op.

`granularity: run` is how the GPU cap holds on Kubernetes (deploy/helm/values.yaml): the one
daemon dequeues a run of the pool only while the pool has a free slot, and steps claim
nothing. Runs that do not go through the queue, as `beacon audit`'s in-process partition runs,
are then not capped at all, so the CLI refuses such an instance.
"""

from __future__ import annotations

from pathlib import Path

import yaml


def pools_enforced_per_run(home: Path) -> bool:
    """True when the instance's dagster.yaml sets `concurrency.pools.granularity: run`.
    Anything unreadable counts as not (Dagster's own error says what is wrong)."""
    try:
        config = yaml.safe_load((home / "dagster.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return False
    pools = ((config or {}).get("concurrency") or {}).get("pools") or {}
    return isinstance(pools, dict) and pools.get("granularity") == "run"
