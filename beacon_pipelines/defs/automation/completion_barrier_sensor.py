"""The completion-barrier sensor: launches an audit's analysis once, when the last partition lands.

For runs launched outside `beacon audit` (a UI backfill of the inference partitions, partitions
materialized from the launchpad with a beacon/audit_id tag, the recurring schedule). Each tick
looks only at audits with a new inference materialization since the last tick (the cursor),
plus those that were complete but held back by a run still in flight; the decision itself is
beacon_pipelines.completion.decide.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from beacon_pipelines.completion import (
    BACKFILL_OWNER,
    CLI_OWNER,
    AuditFacts,
    BarrierDecision,
    decide,
)
from beacon_pipelines.defs.lineage import PAGE, audit_of, latest_for_audit
from beacon_pipelines.defs.partitions import AUDIT_PARTITIONS, partition_key
from beacon_pipelines.defs.resources import ExecutionStoreResource
from beacon_pipelines.defs.tags import (
    AUDIT_ID_TAG,
    BACKFILL_TAG,
    LAUNCHED_BY_TAG,
    audit_id_from_tags,
)
from beacon_pipelines.plan import AuditPlan
from beacon_pipelines.store import ExecutionStore

BARRIER_SENSOR_NAME = "completion_barrier"
LAUNCHED_BY_BARRIER = "completion_barrier"
# The daemon evaluates sensors every ~5 s anyway; shorter would not be faster (DESIGN.md).
BARRIER_INTERVAL_S = 5
MAX_PAGES_PER_TICK = 20
# Materializations of an audit are made after its plan was stored; the slack covers clocks of
# run workers on other hosts.
CLOCK_SLACK_S = 300.0
IN_FLIGHT = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


@dataclass
class BarrierCursor:
    after: int = 0  # last inference materialization storage id looked at
    waiting: list[str] = field(default_factory=list)  # complete audits held back by a run

    @classmethod
    def parse(cls, raw: str | None) -> BarrierCursor:
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(after=int(data.get("after", 0)), waiting=list(data.get("waiting", [])))

    def dump(self) -> str:
        return json.dumps({"after": self.after, "waiting": sorted(set(self.waiting))})


def audits_materialized_since(
    instance: DagsterInstance, asset_keys: list[AssetKey], after: int
) -> tuple[int, set[str]]:
    """Audits with a materialization of any of `asset_keys` (inference; a judged audit's
    judgements land after it) after storage id `after`, and the new cursor. Storage ids are
    the event log's, shared by every key; a scan cut short by MAX_PAGES_PER_TICK holds the
    cursor where it stopped, so the next tick sees the rest of every key."""
    touched: set[str] = set()
    ends = []
    for asset_key in asset_keys:
        end, whole = after, False
        for _ in range(MAX_PAGES_PER_TICK):
            records = instance.fetch_materializations(
                AssetRecordsFilter(asset_key=asset_key, after_storage_id=end),
                limit=PAGE,
                ascending=True,
            ).records
            for record in records:
                audit = audit_of(record)
                if audit:
                    touched.add(audit)
                end = max(end, record.storage_id)
            if len(records) < PAGE:
                whole = True
                break
        ends.append((end, whole))
    cut = [end for end, whole in ends if not whole]
    return (min(cut) if cut else max(end for end, _ in ends)), touched


def _runs_in_flight_by_audit(instance: DagsterInstance) -> Counter:
    runs = instance.get_runs(RunsFilter(statuses=IN_FLIGHT))
    return Counter(audit_id_from_tags(run.tags, run.run_id) for run in runs)


def _analysed_elsewhere_by(
    instance: DagsterInstance, run_ids: set[str], analysis_key: AssetKey
) -> str | None:
    runs = instance.get_runs(RunsFilter(run_ids=sorted(run_ids))) if run_ids else []
    if runs and all(run.tags.get(LAUNCHED_BY_TAG) == "cli" for run in runs):
        return CLI_OWNER  # `beacon audit` starts the analysis itself once its partitions end
    for backfill_id in {run.tags[BACKFILL_TAG] for run in runs if run.tags.get(BACKFILL_TAG)}:
        backfill = instance.get_backfill(backfill_id)
        if backfill is not None and analysis_key in (backfill.asset_selection or ()):
            return BACKFILL_OWNER  # "Materialize all" on the whole graph runs the analysis itself
    return None


def audit_facts(
    instance: DagsterInstance,
    store: ExecutionStore,
    plan: AuditPlan,
    inference_key: AssetKey,
    analysis_key: AssetKey,
    in_flight: Counter,
    judgements_key: AssetKey | None = None,
) -> AuditFacts:
    """A judged audit's partitions are complete when their judgements are in (they come
    after the partition's inference, in the same run); an audit without a judge's, when their
    inference is."""
    if judgements_key is not None and store.audit_judge(plan.audit_id) is not None:
        inference_key = judgements_key
    keys = {str(partition_key(m, r)): (m, r) for m in plan.models for r in plan.regions}
    since = plan.created_at - CLOCK_SLACK_S if plan.created_at else None
    latest = latest_for_audit(
        instance, inference_key, plan.audit_id, partitions=keys, after_timestamp=since
    )
    analysis = latest_for_audit(
        instance, analysis_key, plan.audit_id, partitions=[plan.audit_id], after_timestamp=since
    )
    return AuditFacts(
        plan=plan,
        succeeded=frozenset(store.succeeded_keys(plan.audit_id)),
        materialized={keys[k]: record.storage_id for k, record in latest.items()},
        last_analysis=analysis[plan.audit_id].storage_id if analysis else None,
        runs_in_flight=in_flight.get(plan.audit_id, 0),
        analysed_elsewhere_by=_analysed_elsewhere_by(
            instance, {record.run_id for record in latest.values()}, analysis_key
        ),
    )


def build_completion_barrier_sensor(
    inference_key: AssetKey,
    analysis_key: AssetKey,
    analysis_job_name: str,
    judgements_key: AssetKey | None = None,
):
    watched = [inference_key] + ([judgements_key] if judgements_key is not None else [])

    @sensor(
        name=BARRIER_SENSOR_NAME,
        job_name=analysis_job_name,
        minimum_interval_seconds=BARRIER_INTERVAL_S,
        default_status=DefaultSensorStatus.RUNNING,
        description="Launches an audit's analysis exactly once, when every planned partition of "
        "that audit has succeeded (and, for an audit with a judge, been judged) and is newer "
        "than its last analysis. Skips audits that "
        "`beacon audit` or a whole-graph backfill analyse themselves.",
    )
    def completion_barrier(
        context: SensorEvaluationContext, store: ExecutionStoreResource
    ) -> SensorResult:
        cursor = BarrierCursor.parse(context.cursor)
        after, touched = audits_materialized_since(context.instance, watched, cursor.after)
        candidates = sorted(touched | set(cursor.waiting))
        if not candidates:
            return SensorResult(
                skip_reason="no new inference materialization",
                cursor=BarrierCursor(after, []).dump(),
            )
        execution_store = store.get_store()
        in_flight = _runs_in_flight_by_audit(context.instance)
        decisions: list[BarrierDecision] = []
        elsewhere: list[str] = []
        for audit_id in candidates:
            plan = execution_store.get_audit(audit_id)
            if plan is None:
                # Materialized against another execution store: not ours to analyse, but the
                # tick says so rather than dropping it silently.
                elsewhere.append(f"{audit_id}: not in this execution store, not analysed here")
                continue
            facts = audit_facts(
                context.instance, execution_store, plan, inference_key, analysis_key, in_flight,
                judgements_key,
            )
            decision = decide(facts)
            context.log.info(f"audit {audit_id}: {decision.reason}")
            decisions.append(decision)
        requests = [
            RunRequest(
                run_key=d.run_key,
                partition_key=d.audit_id,
                tags={AUDIT_ID_TAG: d.audit_id, LAUNCHED_BY_TAG: LAUNCHED_BY_BARRIER},
            )
            for d in decisions
            if d.ready
        ]
        # Each audit's analysis is its own partition, added before its run is requested.
        new_partitions = [
            r.partition_key
            for r in requests
            if not context.instance.has_dynamic_partition(AUDIT_PARTITIONS.name, r.partition_key)
        ]
        waiting = [d.audit_id for d in decisions if d.blocked_by_runs]
        # The tick's skip reason, one clause per audit. Dagster allows no skip reason beside run
        # requests: a tick that launches shows its runs, and the other audits' reasons are in
        # its log lines above.
        summary = "; ".join(
            [f"{d.audit_id}: {d.reason}" for d in decisions if not d.ready] + elsewhere
        )
        for line in elsewhere:
            context.log.info(f"audit {line}")
        return SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=[AUDIT_PARTITIONS.build_add_request(new_partitions)]
            if new_partitions
            else None,
            skip_reason=None if requests else (summary or "no Beacon audit to look at"),
            cursor=BarrierCursor(after, waiting).dump(),
        )

    return completion_barrier
