"""The completion barrier: may an audit be analysed now?

Pure decision over what the store and the Dagster instance know about one audit; the sensor
gathers the facts, this module decides. The rule: every planned execution succeeded, every
planned (model, region) partition has a materialization for this audit that is newer than the
audit's last analysis, nothing of this audit is still running, and nobody else (the CLI, a
backfill that includes the analysis) is going to analyse it.

"Newer than the last analysis" per partition is what keeps a refresh whose partitions arrive in
waves from being analysed after the first wave (Dagster's eager() did exactly that).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from beacon_pipelines.plan import AuditPlan, ExecutionKey, missing_keys

Partition = tuple[str, str]  # (model, region)

CLI_OWNER = "cli"
BACKFILL_OWNER = "backfill"


@dataclass(frozen=True)
class AuditFacts:
    plan: AuditPlan
    succeeded: frozenset[ExecutionKey]
    # Latest materialization of each partition made for this audit: its event storage id.
    materialized: Mapping[Partition, int]
    # Storage id of this audit's latest analysis materialization, if any.
    last_analysis: int | None = None
    runs_in_flight: int = 0  # runs of this audit queued or running (inference or analysis)
    analysed_elsewhere_by: str | None = None  # CLI_OWNER / BACKFILL_OWNER, or None
    partitions: tuple[Partition, ...] = field(init=False)

    def __post_init__(self):
        planned = tuple((m, r) for m in self.plan.models for r in self.plan.regions)
        object.__setattr__(self, "partitions", planned)


@dataclass(frozen=True)
class BarrierDecision:
    audit_id: str
    ready: bool
    reason: str
    # Identifies the set of materializations an analysis would use; part of the run key, so
    # one state is analysed at most once however many times the sensor sees it.
    state: str = ""
    # True when only running work blocks it: worth looking at again without a new event.
    blocked_by_runs: bool = False

    @property
    def run_key(self) -> str:
        return f"{self.audit_id}@{self.state}"


def _listed(partitions: Iterable[Partition], limit: int = 5) -> str:
    items = [f"{m}/{r}" for m, r in sorted(partitions)]
    more = len(items) - limit
    return ", ".join(items[:limit]) + (f" and {more} more" if more > 0 else "")


def decide(facts: AuditFacts) -> BarrierDecision:
    audit_id = facts.plan.audit_id
    total = len(facts.partitions)
    if facts.analysed_elsewhere_by == CLI_OWNER:
        return BarrierDecision(audit_id, False, "launched by `beacon audit`, which analyses it")
    if facts.analysed_elsewhere_by == BACKFILL_OWNER:
        return BarrierDecision(audit_id, False, "its backfill includes the analysis")
    missing = missing_keys(facts.plan, facts.succeeded)
    unmaterialized = [p for p in facts.partitions if p not in facts.materialized]
    if missing or unmaterialized:
        done = total - len({(m, r) for m, r, _, _ in missing} | set(unmaterialized))
        return BarrierDecision(
            audit_id,
            False,
            f"{done} of {total} partitions complete; waiting for {_listed(set(unmaterialized))}"
            if unmaterialized
            else f"{len(missing)} executions not yet succeeded",
        )
    if facts.last_analysis is not None:
        stale = [p for p in facts.partitions if facts.materialized[p] <= facts.last_analysis]
        if stale:
            return BarrierDecision(
                audit_id,
                False,
                f"{total - len(stale)} of {total} partitions newer than the last analysis; "
                f"waiting for {_listed(stale)}",
            )
    state = str(max(facts.materialized[p] for p in facts.partitions))
    if facts.runs_in_flight:
        return BarrierDecision(
            audit_id,
            False,
            f"complete, but {facts.runs_in_flight} run(s) of this audit still queued or running",
            state=state,
            blocked_by_runs=True,
        )
    return BarrierDecision(audit_id, True, f"all {total} partitions complete", state=state)
