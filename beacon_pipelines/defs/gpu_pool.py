"""The GPU cap on a Dagster instance: the `gpu` pool's limit, and slots held by dead workers.

Every inference step claims a slot of the pool `gpu` before it calls a backend, whatever
launched its run (the CLI, the UI, a backfill, a schedule), so the pool's limit is the number
of backend calls in flight across the instance.
"""

from __future__ import annotations

import os
import socket

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from beacon_pipelines.worker_process import process_exists

GPU_POOL = "gpu"
GPU_RUN_TAG = "beacon/gpu"  # run-tag concurrency limit in dagster.yaml, for queued runs
WORKER_PID_TAG = "beacon/worker_pid"
WORKER_HOST_TAG = "beacon/worker_host"


def worker_tags() -> dict[str, str]:
    """Tags naming the process that executes a run in-process, so a dead one can be found."""
    return {WORKER_PID_TAG: str(os.getpid()), WORKER_HOST_TAG: socket.gethostname()}


def set_gpu_cap(instance: DagsterInstance, cap: int) -> None:
    """Persist the pool limit on the instance: every later run, from any launcher, obeys it."""
    if cap < 1:
        raise ValueError(f"the GPU cap must be at least 1, got {cap}")
    instance.event_log_storage.set_concurrency_slots(GPU_POOL, cap)


def worker_pid_here(tags) -> int | None:
    """The pid of the process executing a run in-process on this host, per its tags; None for
    a run launched elsewhere or by a run launcher (Dagster's own monitoring covers those)."""
    pid = tags.get(WORKER_PID_TAG, "")
    if tags.get(WORKER_HOST_TAG) != socket.gethostname() or not pid.isdigit():
        return None
    return int(pid)


def worker_alive(tags) -> bool:
    """False only for an in-process run on this host whose worker process is gone."""
    pid = worker_pid_here(tags)
    return pid is None or process_exists(pid)


def release_dead_workers(instance: DagsterInstance) -> list[str]:
    """Fail the runs whose in-process worker on this host is gone, and free their pool slots.

    A run executed in-process (as `beacon audit` does) has no run launcher for Dagster's run
    monitoring to ask about, so a worker killed with SIGKILL would hold its GPU slot for ever
    and deadlock the cap. Returns the run ids released.
    """
    host = socket.gethostname()
    released = []
    runs = instance.get_runs(
        RunsFilter(
            statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING],
            tags={WORKER_HOST_TAG: host},
        )
    )
    for run in runs:
        pid = run.tags.get(WORKER_PID_TAG, "")
        if not pid.isdigit() or process_exists(int(pid)):
            continue
        instance.report_run_failed(run, f"worker process {pid} on {host} is gone (killed?)")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released
