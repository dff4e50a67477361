"""The Dagster side of an audit's status: its runs, whether they are alive, its report, and
the status shown on its runs (tag `beacon/audit_status`) and on `bias_analysis`.

The decision itself is pure (`beacon_pipelines/audit_status.py`); this gathers its facts.
"""

from __future__ import annotations

import socket
import time

from dagster import (
    AssetKey,
    AssetObservation,
    DagsterInstance,
    DagsterRunStatus,
    RunRecord,
    RunsFilter,
)

from beacon_pipelines.audit_status import (
    ANALYSIS,
    INFERENCE,
    AuditFacts,
    AuditStatus,
    RunFact,
    derive_status,
)
from beacon_pipelines.defs.gpu_pool import worker_alive
from beacon_pipelines.defs.jobs import ANALYSIS_JOB
from beacon_pipelines.defs.lineage import latest_for_audit
from beacon_pipelines.defs.partitions import ensure_audit_partition
from beacon_pipelines.defs.tags import AUDIT_ID_TAG, AUDIT_STATUS_TAG, BACKFILL_TAG
from beacon_pipelines.plan import AuditPlan
from beacon_pipelines.store import ExecutionStore
from beacon_pipelines.worker_process import process_exists

ANALYSIS_KEY = AssetKey("bias_analysis")
REPORT_KEY = AssetKey("bias_report")
PARTITION_TAG = "dagster/partition"
LIVE_STATUSES = {
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
}


def audit_runs_filter(audit_id: str) -> RunsFilter:
    """The runs of an audit, as `audit_id_from_tags` assigns them: its tag, or its backfill."""
    if audit_id.startswith("backfill-"):
        return RunsFilter(tags={BACKFILL_TAG: audit_id.removeprefix("backfill-")})
    return RunsFilter(tags={AUDIT_ID_TAG: audit_id})


def audit_run_records(instance: DagsterInstance, audit_id: str) -> list[RunRecord]:
    """Newest first."""
    return list(instance.get_run_records(audit_runs_filter(audit_id)))


def is_live(run) -> bool:
    """Queued or executing now. A run left STARTED by a worker that died is not: that is how
    a killed `beacon audit` never shows as running."""
    return run.status in LIVE_STATUSES and worker_alive(run.tags)


def _is_analysis(run) -> bool:
    """The analysis job, or any run materializing bias_analysis (a UI selection), or a run of
    an audit partition: those are audit ids, while inference partitions are model|region."""
    partition = run.tags.get(PARTITION_TAG)
    return (
        run.job_name == ANALYSIS_JOB
        or ANALYSIS_KEY in (run.asset_selection or ())
        or (partition is not None and "|" not in partition)
    )


def run_fact(record: RunRecord) -> RunFact:
    run = record.dagster_run
    return RunFact(
        run_id=run.run_id,
        kind=ANALYSIS if _is_analysis(run) else INFERENCE,
        status=run.status.value,
        live=is_live(run),
        partition=run.tags.get(PARTITION_TAG, ""),
        ended_at=record.end_time,
    )


def driver_alive(control: dict | None) -> bool:
    """Whether the `beacon audit` process recorded as driving the audit is alive. A driver on
    another host cannot be checked from here; its runs' statuses speak for it."""
    if not control or control.get("driver_pid") is None:
        return False
    here = control.get("driver_host") == socket.gethostname()
    return here and process_exists(control["driver_pid"])


def audit_facts(
    instance: DagsterInstance, plan: AuditPlan, succeeded: int, control: dict | None
) -> AuditFacts:
    report = latest_for_audit(instance, REPORT_KEY, plan.audit_id, [plan.audit_id])
    record = report.get(plan.audit_id)
    path = None
    if record is not None and record.asset_materialization is not None:
        value = record.asset_materialization.metadata.get("report_path")
        path = None if value is None else str(value.value)
    control = control or {}
    return AuditFacts(
        plan=plan,
        succeeded=succeeded,
        runs=tuple(run_fact(r) for r in audit_run_records(instance, plan.audit_id)),
        cancel_requested_at=control.get("cancel_requested_at"),
        cancel_reason=control.get("cancel_reason"),
        driver_alive=driver_alive(control),
        report_at=None if record is None else record.timestamp,
        report_path=path,
    )


def audit_status(instance: DagsterInstance, store: ExecutionStore, plan: AuditPlan) -> AuditStatus:
    """The audit's status now, from the store and the instance."""
    succeeded = store.succeeded_count(plan.audit_id)
    facts = audit_facts(instance, plan, succeeded, store.audit_control(plan.audit_id))
    return derive_status(facts, time.time())


def overall_risk(instance: DagsterInstance, audit_id: str) -> str | None:
    """The overall risk of the audit's newest analysis, from its materialization metadata."""
    found = latest_for_audit(instance, ANALYSIS_KEY, audit_id, [audit_id]).get(audit_id)
    if found is None or found.asset_materialization is None:
        return None
    value = found.asset_materialization.metadata.get("overall_risk")
    return None if value is None else str(value.value)


def show_status(instance: DagsterInstance, audit_id: str, status: AuditStatus) -> None:
    """Put the status where the UI shows it: the tag `beacon/audit_status` on every run of the
    audit (filterable in Runs), and an observation of the audit's `bias_analysis` partition
    (its Events and latest metadata)."""
    for record in audit_run_records(instance, audit_id):
        if record.dagster_run.tags.get(AUDIT_STATUS_TAG) != status.status:
            instance.add_run_tags(record.dagster_run.run_id, {AUDIT_STATUS_TAG: status.status})
    ensure_audit_partition(instance, audit_id)
    instance.report_runless_asset_event(
        AssetObservation(
            asset_key=ANALYSIS_KEY,
            partition=audit_id,
            metadata={
                "audit_id": audit_id,
                "audit_status": status.status,
                "audit_status_detail": status.detail,
                "observed_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            },
        )
    )
