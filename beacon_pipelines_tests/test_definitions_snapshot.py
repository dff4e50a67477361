"""The whole Definitions as a reviewed snapshot: a change to the graph shows up as a diff.

Asset keys, partitions, dependencies, pools (and the instance's limits), retry policies, checks,
jobs, schedules, sensors and resources are written to snapshots/definitions.json. When a change
is intended, regenerate it and review the diff with the change:

    BEACON_UPDATE_SNAPSHOTS=1 pytest beacon_pipelines_tests/test_definitions_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml
from dagster import Definitions, MultiPartitionsDefinition

from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.defs.audit_graph import build_definitions
from beacon_pipelines_tests.conftest import PROJECT_DIR

SNAPSHOT = Path(__file__).with_name("snapshots") / "definitions.json"
INSTANCE_YAML = PROJECT_DIR / "dagster.yaml"


def _partitions(partitions_def) -> dict | None:
    if partitions_def is None:
        return None
    if isinstance(partitions_def, MultiPartitionsDefinition):
        return {
            dim.name: dim.partitions_def.get_partition_keys()
            for dim in partitions_def.partitions_defs
        }
    return {"type": type(partitions_def).__name__, "name": getattr(partitions_def, "name", None)}


def _retry(policy) -> dict | None:
    if policy is None:
        return None
    return {
        "max_retries": policy.max_retries,
        "delay": policy.delay,
        "backoff": policy.backoff.value if policy.backoff else None,
        "jitter": policy.jitter.value if policy.jitter else None,
    }


def describe(defs: Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for assets_def in defs.assets:
        key = assets_def.key.to_user_string()
        node = graph.get(assets_def.key)
        assets[key] = {
            "group": assets_def.group_names_by_key[assets_def.key],
            "kinds": sorted(node.kinds),
            "partitions": _partitions(assets_def.partitions_def),
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "pool": assets_def.op.pool,
            "retry_policy": _retry(assets_def.op.retry_policy),
        }
    checks = {}
    for checks_def in defs.asset_checks:
        for spec in checks_def.check_specs:
            checks[f"{spec.asset_key.to_user_string()}:{spec.name}"] = {
                "blocking": spec.blocking
            }
    jobs = {}
    for job in defs.resolve_all_job_defs():
        if job.name.startswith("__"):
            continue
        jobs[job.name] = {
            "assets": sorted(k.to_user_string() for k in job.asset_layer.executable_asset_keys),
            "tags": dict(sorted(job.tags.items())),
            "executor": job.executor_def.name,
        }
    schedules = {
        s.name: {
            "cron": s.cron_schedule,
            "timezone": s.execution_timezone,
            "job": s.job_name,
            "default_status": s.default_status.value,
            "resources": sorted(s.required_resource_keys),
        }
        for s in defs.schedules
    }
    sensors = {
        s.name: {
            "jobs": sorted(target.job_name for target in s.targets),
            "minimum_interval_seconds": s.minimum_interval_seconds,
            "default_status": s.default_status.value,
            "resources": sorted(s.required_resource_keys),
        }
        for s in defs.sensors
    }
    resources = {
        key: {
            "class": type(resource).__name__,
            "fields": sorted(type(resource).model_fields),
        }
        for key, resource in sorted(defs.resources.items())
    }
    return {
        # The GPU cap itself lives in the instance config: the pool's limit and run-tag limits.
        "instance_concurrency": yaml.safe_load(INSTANCE_YAML.read_text())["concurrency"],
        "assets": assets,
        "asset_checks": checks,
        "jobs": jobs,
        "schedules": schedules,
        "sensors": sensors,
        "resources": resources,
    }


def test_definitions_match_the_reviewed_snapshot(monkeypatch):
    update = os.environ.get("BEACON_UPDATE_SNAPSHOTS") == "1"
    # The snapshot is of the packaged catalog and default settings, whatever this shell has.
    for name in list(os.environ):
        if name.startswith(("BEACON_", "MODAL_TOKEN")):
            monkeypatch.delenv(name)
    actual = json.dumps(describe(build_definitions(load_catalog())), indent=2, sort_keys=True)
    if update:
        SNAPSHOT.write_text(actual + "\n")
    assert SNAPSHOT.exists(), f"no snapshot at {SNAPSHOT}: write it with BEACON_UPDATE_SNAPSHOTS=1"
    assert actual + "\n" == SNAPSHOT.read_text(), (
        "the Definitions changed; if intended, regenerate snapshots/definitions.json with "
        "BEACON_UPDATE_SNAPSHOTS=1 and commit the diff"
    )
