"""The recurring audit: each tick plans one audit and requests every (model, region) partition.

The plan (with the configured question set) is stored before any run starts, so the partitions
and the analysis agree on what "complete" means; the completion-barrier sensor then launches
the analysis when the last partition lands. The GPU pool on the inference step, not the number
of runs requested here, bounds how many call the backend at once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dagster import (
    DagsterInvalidDefinitionError,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    schedule,
)

from beacon_pipelines.catalog import Catalog
from beacon_pipelines.defs.automation.schedule_settings import (
    CRON_ENV,
    ScheduleSettings,
    ScheduleSettingsError,
    scheduled_audit_id,
)
from beacon_pipelines.defs.partitions import partition_key
from beacon_pipelines.defs.resources import ExecutionStoreResource, InferenceBackendResource
from beacon_pipelines.defs.tags import AUDIT_ID_TAG, LAUNCHED_BY_TAG
from beacon_pipelines.plan import build_plan

SCHEDULE_NAME = "recurring_audit"
LAUNCHED_BY_SCHEDULE = "schedule"


def build_recurring_audit_schedule(
    catalog: Catalog, inference_job_name: str, settings: ScheduleSettings
):
    partitions = [partition_key(m, r) for m in catalog.model_ids for r in catalog.region_ids]

    def recurring_audit(
        context: ScheduleEvaluationContext,
        store: ExecutionStoreResource,
        backend: InferenceBackendResource,
    ) -> list[RunRequest]:
        tick = context.scheduled_execution_time or datetime.now(UTC)
        audit_id = scheduled_audit_id(tick)
        # Idempotent for the same plan: a re-evaluated tick finds its audit already stored.
        plan = build_plan(
            catalog, audit_id=audit_id, backend=backend.kind, questions=settings.questions
        )
        store.get_store().register_audit(plan)
        context.log.info(
            f"audit {audit_id}: {len(partitions)} partitions x {len(settings.questions)} questions"
        )
        tags = {AUDIT_ID_TAG: audit_id, LAUNCHED_BY_TAG: LAUNCHED_BY_SCHEDULE}
        return [
            RunRequest(run_key=f"{audit_id}:{key}", partition_key=str(key), tags=tags)
            for key in partitions
        ]

    try:
        return schedule(
            name=SCHEDULE_NAME,
            cron_schedule=settings.cron,
            execution_timezone=settings.timezone,
            job_name=inference_job_name,
            default_status=DefaultScheduleStatus.STOPPED,
            description=f"Every partition of one audit per tick (audit id sched-<tick time>), "
            f"questions: {', '.join(settings.questions)}. Set by BEACON_SCHEDULE_CRON, "
            "BEACON_SCHEDULE_TIMEZONE, BEACON_SCHEDULE_QUESTIONS.",
        )(recurring_audit)
    except DagsterInvalidDefinitionError as exc:
        raise ScheduleSettingsError(
            f"{CRON_ENV}={settings.cron!r} is not a valid cron schedule "
            f"(5 fields, e.g. '0 3 * * 1'): {exc}"
        ) from None
