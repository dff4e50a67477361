"""An audit's status, derived from facts each time it is asked: never a stored label that a
dead process could leave behind.

The facts come from the execution store (the plan, how many executions succeeded, a cancel
request, the `beacon audit` process driving it) and from the Dagster instance (the audit's
runs, whether their workers are alive, its report). This module only decides; it imports
neither Dagster nor a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from beacon_pipelines.plan import AuditPlan

PLANNED = "planned"
RUNNING = "running"
FINALIZING = "finalizing"
COMPLETE = "complete"
FAILED = "failed"
CANCELLED = "cancelled"
STATUSES = (PLANNED, RUNNING, FINALIZING, COMPLETE, FAILED, CANCELLED)

# What a run of the audit does (the Dagster side maps its jobs to these).
INFERENCE = "inference"
ANALYSIS = "analysis"
# After the last partition run ends, the completion barrier sensor launches the analysis of a
# UI or scheduled audit within a tick or two; past this, an audit whose answers are all in but
# that nobody analyses is reported as failed rather than "finalizing" for ever.
BARRIER_GRACE_S = 60.0


@dataclass(frozen=True)
class RunFact:
    run_id: str
    kind: str  # INFERENCE or ANALYSIS
    status: str  # Dagster's run status name: QUEUED, STARTED, SUCCESS, FAILURE, CANCELED, ...
    live: bool  # queued or executing now; a run whose worker process died is not live
    partition: str = ""
    ended_at: float | None = None


@dataclass(frozen=True)
class AuditFacts:
    plan: AuditPlan
    succeeded: int  # executions with a succeeded attempt
    runs: tuple[RunFact, ...] = ()
    cancel_requested_at: float | None = None
    cancel_reason: str | None = None
    driver_alive: bool = False  # a `beacon audit` process is driving it now
    report_at: float | None = None  # when its newest report was written
    report_path: str | None = None


@dataclass(frozen=True)
class AuditStatus:
    status: str
    detail: str = ""
    live_runs: tuple[str, ...] = field(default=())


def _failed_partitions(runs: tuple[RunFact, ...]) -> list[str]:
    """Partitions whose latest inference run did not succeed (runs are newest first)."""
    latest: dict[str, RunFact] = {}
    for run in runs:
        if run.kind == INFERENCE and run.partition not in latest:
            latest[run.partition] = run
    return sorted(p for p, r in latest.items() if r.status != "SUCCESS" and not r.live)


def derive_status(facts: AuditFacts, now: float) -> AuditStatus:
    """The status of one audit (see README "Audit status"); `runs` newest first."""
    planned = facts.plan.execution_count
    kept = f"{facts.succeeded} of {planned} executions"
    live = tuple(r.run_id for r in facts.runs if r.live)
    reported = facts.report_at is not None and facts.succeeded >= planned and not live
    if reported and (facts.cancel_requested_at or 0) <= facts.report_at:
        # A cancel that came after the report (too late to stop anything) changes nothing.
        return AuditStatus(COMPLETE, f"report {facts.report_path or ''}".strip())
    if facts.cancel_requested_at is not None:
        if live or facts.driver_alive:
            return AuditStatus(RUNNING, f"cancel requested; stopping {len(live)} run(s)", live)
        reason = f" ({facts.cancel_reason})" if facts.cancel_reason else ""
        return AuditStatus(
            CANCELLED,
            f"cancelled{reason}; {kept} kept; resume with beacon audit --audit-id "
            f"{facts.plan.audit_id}",
        )
    live_kinds = {r.kind for r in facts.runs if r.live}
    if INFERENCE in live_kinds:
        return AuditStatus(RUNNING, f"{kept} succeeded", live)
    if ANALYSIS in live_kinds:
        return AuditStatus(FINALIZING, "every answer is in; analysing and reporting", live)
    if facts.succeeded >= planned:
        if facts.report_at is not None:
            return AuditStatus(COMPLETE, f"report {facts.report_path or ''}".strip())
        if facts.driver_alive:
            return AuditStatus(FINALIZING, "every answer is in; analysing and reporting")
        analyses = [r for r in facts.runs if r.kind == ANALYSIS]
        if analyses and analyses[0].status != "SUCCESS":
            return AuditStatus(
                FAILED,
                f"every answer is in, but analysis run {analyses[0].run_id[:8]} ended "
                f"{analyses[0].status.lower()}; re-run with beacon audit --audit-id "
                f"{facts.plan.audit_id}",
            )
        ended = [r.ended_at for r in facts.runs if r.ended_at is not None]
        if ended and now - max(ended) < BARRIER_GRACE_S and not analyses:
            return AuditStatus(FINALIZING, "every answer is in; waiting for the analysis")
        return AuditStatus(
            FAILED,
            "every answer is in, but no report was written; re-run with beacon audit "
            f"--audit-id {facts.plan.audit_id}",
        )
    if facts.driver_alive:
        return AuditStatus(RUNNING, f"{kept} succeeded", live)
    if not facts.runs and facts.succeeded == 0:
        return AuditStatus(PLANNED, f"0 of {planned} executions")
    failed = _failed_partitions(facts.runs)
    missing = f"{planned - facts.succeeded} of {planned} executions missing"
    where = f"; partitions failed: {', '.join(failed)}" if failed else ""
    return AuditStatus(
        FAILED, f"{missing}{where}; resume with beacon audit --audit-id {facts.plan.audit_id}"
    )
