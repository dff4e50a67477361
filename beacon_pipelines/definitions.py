"""The one Definitions object: assets, resources, jobs, schedules, sensors. Built from the
catalog, so a catalog with other models or regions gives other partitions."""

import os

from dagster import (
    AssetSelection,
    Definitions,
    EnvVar,
    define_asset_job,
    in_process_executor,
)

from beacon_pipelines.assets.analysis import build_analysis_asset
from beacon_pipelines.assets.checks import build_audit_checks
from beacon_pipelines.assets.inference import build_inference_asset
from beacon_pipelines.assets.report import build_report_asset
from beacon_pipelines.automation import build_automation
from beacon_pipelines.catalog import Catalog, load_catalog
from beacon_pipelines.gpu_pool import GPU_RUN_TAG
from beacon_pipelines.resources import ExecutionStoreResource, backend_resource_from_environment
from beacon_pipelines.schedule_settings import ScheduleSettings

INFERENCE_JOB = "audit_inference"
ANALYSIS_JOB = "audit_analysis"
STORE_URL_ENV = "BEACON_STORE_URL"


def build_definitions(catalog: Catalog, schedule: ScheduleSettings | None = None) -> Definitions:
    """`schedule`: the recurring audit's settings; None reads BEACON_SCHEDULE_* from the env."""
    inference = build_inference_asset(catalog)
    analysis = build_analysis_asset(catalog, inference)
    report = build_report_asset(catalog, analysis)
    schedules, sensors = build_automation(
        catalog,
        inference_key=inference.key,
        analysis_key=analysis.key,
        inference_job_name=INFERENCE_JOB,
        analysis_job_name=ANALYSIS_JOB,
        settings=schedule,
    )
    store = (
        ExecutionStoreResource(url=EnvVar(STORE_URL_ENV))
        if os.environ.get(STORE_URL_ENV)
        else ExecutionStoreResource()
    )
    return Definitions(
        assets=[inference, analysis, report],
        asset_checks=build_audit_checks(catalog, analysis),
        jobs=[
            define_asset_job(
                INFERENCE_JOB,
                selection=AssetSelection.assets(inference),
                description="One (model, region) partition of an audit.",
                # Queued runs of this job (schedules, UI) also count against the run-tag limit
                # in dagster.yaml; the `gpu` pool holds every run, tagged or not.
                tags={GPU_RUN_TAG: "1"},
            ),
            define_asset_job(
                ANALYSIS_JOB,
                selection=AssetSelection.assets(analysis, report),
                description="Analyse a complete audit and write its report.",
            ),
        ],
        schedules=schedules,
        sensors=sensors,
        resources={"store": store, "backend": backend_resource_from_environment()},
        # In-process: a run worker per step costs 1-2 s each here, and steps are I/O bound.
        executor=in_process_executor,
    )


defs = build_definitions(load_catalog())
