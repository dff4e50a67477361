"""Schedules and sensors: the recurring audit, the completion barrier, run-failure alerts."""

from __future__ import annotations

from dagster import AssetKey, ScheduleDefinition, SensorDefinition

from beacon_pipelines.catalog import Catalog
from beacon_pipelines.defs.automation.completion_barrier_sensor import (
    build_completion_barrier_sensor,
)
from beacon_pipelines.defs.automation.recurring_audit_schedule import build_recurring_audit_schedule
from beacon_pipelines.defs.automation.run_failure_alert import build_run_failure_sensor
from beacon_pipelines.defs.automation.schedule_settings import ScheduleSettings, schedule_settings


def build_automation(
    catalog: Catalog,
    *,
    inference_key: AssetKey,
    analysis_key: AssetKey,
    judgements_key: AssetKey | None = None,
    inference_job_name: str,
    analysis_job_name: str,
    settings: ScheduleSettings | None = None,
) -> tuple[list[ScheduleDefinition], list[SensorDefinition]]:
    settings = settings or schedule_settings(catalog)
    schedules = [build_recurring_audit_schedule(catalog, inference_job_name, settings)]
    sensors = [
        build_completion_barrier_sensor(
            inference_key, analysis_key, analysis_job_name, judgements_key=judgements_key
        ),
        build_run_failure_sensor(),
    ]
    return schedules, sensors


__all__ = ["build_automation"]
