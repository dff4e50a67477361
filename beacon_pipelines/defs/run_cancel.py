"""Stopping an audit's Dagster runs: each the way it can be stopped, then its slots freed.

- A run executed in-process by a `beacon audit` worker on this host is marked CANCELING and
  its worker is sent CANCEL_SIGNAL; the worker turns it into Dagster's own interrupt, so the
  backend call in flight is abandoned and Dagster marks the run CANCELED.
- A queued run, or one launched by a run launcher (UI, daemon, schedule), goes through the
  instance's run coordinator, as the UI's Terminate does.
- Whatever is still not finished after that (a worker that died, a launcher that could not
  terminate) is marked CANCELED, and every slot the audit's runs hold in the GPU pool is freed:
  a cancelled audit must never hold the cap.
"""

from __future__ import annotations

import os
import signal
import time

from dagster import DagsterInstance, DagsterRunStatus

from beacon_pipelines.defs.audit_runs import audit_run_records, is_live
from beacon_pipelines.defs.gpu_pool import worker_pid_here
from beacon_pipelines.worker_process import process_exists

# SIGINT is left to the terminal (Ctrl-C reaches the `beacon audit` process, which decides);
# workers get this one, which they hand to Dagster as an interrupt.
CANCEL_SIGNAL = signal.SIGUSR1
_STOPPING = {DagsterRunStatus.CANCELING, DagsterRunStatus.CANCELED}


def stop_audit_runs(instance: DagsterInstance, audit_id: str, reason: str) -> list[str]:
    """Ask every unfinished run of the audit to stop now; returns their run ids. The caller's
    own process is never signalled (the CLI's analysis run stops with the CLI)."""
    asked = []
    for record in audit_run_records(instance, audit_id):
        run = record.dagster_run
        if run.is_finished:
            continue
        asked.append(run.run_id)
        if run.status in (DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED):
            if run.status is DagsterRunStatus.QUEUED and _coordinator_cancel(instance, run.run_id):
                continue
            instance.report_run_canceled(run, message=reason)
            continue
        pid = worker_pid_here(run.tags)
        if pid is None:
            _coordinator_cancel(instance, run.run_id)  # Dagster's Terminate; else finish_cancel
            continue
        # Before the signal: Dagster then records the interrupted run as canceled, not failed.
        mark_run_canceling(instance, run.run_id, reason)
        if pid != os.getpid() and process_exists(pid):
            try:
                os.kill(pid, CANCEL_SIGNAL)
            except ProcessLookupError:
                pass
    return asked


def mark_run_canceling(instance: DagsterInstance, run_id: str, reason: str = "") -> None:
    """CANCELING unless already stopping: Dagster then ends the interrupted run CANCELED."""
    run = instance.get_run_by_id(run_id)
    if run is not None and not run.is_finished and run.status not in _STOPPING:
        instance.report_run_canceling(run, message=reason or "cancelled")


def _coordinator_cancel(instance: DagsterInstance, run_id: str) -> bool:
    try:
        return bool(instance.run_coordinator.cancel_run(run_id))
    except Exception:  # a launcher that cannot terminate: finish_cancel marks it canceled
        return False


def wait_for_runs_to_stop(instance: DagsterInstance, audit_id: str, timeout_s: float) -> bool:
    """Until no run of the audit is live (see audit_runs.is_live), or timeout_s; whether all
    stopped."""
    deadline = time.monotonic() + timeout_s
    while True:
        if not any(is_live(r.dagster_run) for r in audit_run_records(instance, audit_id)):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def finish_cancel(instance: DagsterInstance, audit_id: str, reason: str) -> list[str]:
    """Mark every still unfinished run of the audit canceled and free the GPU slots of every
    cancelled run of it; returns the runs it marked."""
    marked = []
    storage = instance.event_log_storage
    for record in audit_run_records(instance, audit_id):
        run = record.dagster_run
        if not run.is_finished:
            instance.report_run_canceled(run, message=reason)
            marked.append(run.run_id)
        if not run.is_finished or run.status in _STOPPING:
            storage.free_concurrency_slots_for_run(run.run_id)
    return marked
