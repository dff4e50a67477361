"""Run one inference partition as its own Dagster run, in its own process.

`beacon audit` forks one of these per (model, region) from a process that has already imported
Dagster and built the definitions (a fresh interpreter per partition spent 1-2 s of CPU on
imports each, nine at once on two cores). Separate processes keep Dagster's per-run log capture
(file descriptors 1 and 2) apart, and the instance's GPU pool, not this launcher, decides when
each one may call the backend. `python -m beacon_pipelines.cli.workers` runs one by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from beacon_pipelines.cli import collector

# A worker's exit code: its run succeeded, failed, or was cancelled (beacon cancel, Ctrl-C,
# Terminate in the UI).
EXIT_SUCCEEDED, EXIT_FAILED, EXIT_CANCELLED = 0, 1, 3


def execute_partition(
    defs,
    model: str,
    region: str,
    audit_id: str,
    run_config: dict,
    job_name: str | None = None,
    instance=None,
) -> int:
    """One Dagster run of the inference job (`job_name`: the judged one, with a judge) for
    (model, region) on the instance; its exit code.

    `instance`: the one `beacon audit` opened before forking this worker. Dagster's storages
    (SQLite and Postgres) open a connection per use and keep none (NullPool), so a forked
    child may use its parent's instance; opening another re-read Dagster's ~90 migration
    scripts three times, ~0.1 s of CPU per worker. None: open one here.
    """
    from contextlib import nullcontext

    from dagster import DagsterInstance, DagsterRunStatus

    from beacon_pipelines.defs.gpu_pool import worker_tags
    from beacon_pipelines.defs.jobs import INFERENCE_JOB
    from beacon_pipelines.defs.partitions import partition_key
    from beacon_pipelines.defs.tags import AUDIT_ID_TAG, AUDIT_STATUS_TAG, LAUNCHED_BY_TAG

    job = defs.resolve_job_def(job_name or INFERENCE_JOB)
    with nullcontext(instance) if instance is not None else DagsterInstance.get() as instance:
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            partition_key=partition_key(model, region),
            tags={
                AUDIT_ID_TAG: audit_id,
                AUDIT_STATUS_TAG: "running",
                LAUNCHED_BY_TAG: "cli",
                **worker_tags(),
            },
            raise_on_error=False,
        )
        if result.success:
            return EXIT_SUCCEEDED
        run = instance.get_run_by_id(result.run_id)
        if run is not None and run.status in (
            DagsterRunStatus.CANCELING, DagsterRunStatus.CANCELED
        ):
            # The slot is free once the step ends; said again here, since a cancelled audit
            # must never hold the cap.
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            return EXIT_CANCELLED
    return EXIT_FAILED


def run_forked(
    defs,
    model: str,
    region: str,
    audit_id: str,
    run_config: dict,
    log: Path,
    job_name: str | None = None,
    instance=None,
) -> None:
    """Body of a worker forked by `beacon audit`: its output goes to the partition's log file,
    its exit code says whether the run succeeded."""
    collector.resume()  # what the parent froze for this fork stays out of its passes
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    # New stream objects: the parent's may have been mid-write (and locked) in another thread.
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - lives as the process
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    from beacon_pipelines.cli.interrupts import prepare_worker

    prepare_worker()
    sys.exit(execute_partition(defs, model, region, audit_id, run_config, job_name, instance))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m beacon_pipelines.cli.workers")
    parser.add_argument("--model", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--audit-id", required=True)
    parser.add_argument("--run-config", default="{}", help="JSON run config")
    args = parser.parse_args(argv)

    from beacon_pipelines.catalog import load_catalog
    from beacon_pipelines.defs.audit_graph import build_definitions

    defs = build_definitions(load_catalog())

    run_config = json.loads(args.run_config)
    return execute_partition(defs, args.model, args.region, args.audit_id, run_config)


if __name__ == "__main__":
    sys.exit(main())
