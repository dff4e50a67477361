"""The audit graph as one Definitions: assets, checks, jobs, schedules, sensors, resources.

Built from the catalog, so a catalog with other models or regions gives other partitions.
`dg` and `dagster dev` find it here through `audit_graph_definitions`; the CLI and the tests
call `build_definitions` with the catalog they chose.
"""

import dagster as dg

from beacon_pipelines.catalog import Catalog, load_catalog
from beacon_pipelines.defs.analysis_io_manager import AnalysisIOManager
from beacon_pipelines.defs.assets.answer_judgements import build_judgements_asset
from beacon_pipelines.defs.assets.bias_analysis import build_analysis_asset
from beacon_pipelines.defs.assets.bias_report import build_report_asset
from beacon_pipelines.defs.assets.checks import build_audit_checks
from beacon_pipelines.defs.assets.inference import build_inference_asset
from beacon_pipelines.defs.automation import build_automation
from beacon_pipelines.defs.automation.schedule_settings import ScheduleSettings
from beacon_pipelines.defs.jobs import (
    ANALYSIS_JOB,
    INFERENCE_JOB,
    JUDGED_INFERENCE_JOB,
    build_jobs,
)
from beacon_pipelines.defs.resources import (
    backend_resource_from_environment,
    judge_resource_from_environment,
    signing_resource_from_environment,
    store_resource_from_environment,
)


def build_definitions(catalog: Catalog, schedule: ScheduleSettings | None = None) -> dg.Definitions:
    """`schedule`: the recurring audit's settings; None reads BEACON_SCHEDULE_* from the env."""
    inference = build_inference_asset(catalog)
    judgements = build_judgements_asset(catalog, inference)
    analysis = build_analysis_asset(catalog, inference, judgements)
    report = build_report_asset(catalog, analysis)
    judge = judge_resource_from_environment()
    schedules, sensors = build_automation(
        catalog,
        inference_key=inference.key,
        analysis_key=analysis.key,
        judgements_key=judgements.key,
        # A code location with a judge (BEACON_JUDGE_KIND) judges its scheduled audits too.
        inference_job_name=INFERENCE_JOB if judge.kind == "none" else JUDGED_INFERENCE_JOB,
        analysis_job_name=ANALYSIS_JOB,
        settings=schedule,
    )
    return dg.Definitions(
        assets=[inference, judgements, analysis, report],
        asset_checks=build_audit_checks(catalog, analysis),
        jobs=build_jobs(inference, judgements, analysis, report),
        schedules=schedules,
        sensors=sensors,
        resources={
            "store": store_resource_from_environment(),
            "backend": backend_resource_from_environment(),
            "judge": judge,
            "signing": signing_resource_from_environment(),
            "io_manager": AnalysisIOManager(),
        },
        # In-process: a run worker per step costs 1-2 s each here, and steps are I/O bound.
        executor=dg.in_process_executor,
    )


@dg.definitions
def audit_graph_definitions() -> dg.Definitions:
    """The code location's graph, from $BEACON_CATALOG or the packaged catalog."""
    return build_definitions(load_catalog())
