"""The two jobs of an audit: one (model, region) inference partition; its analysis and report."""

from dagster import AssetsDefinition, AssetSelection, define_asset_job

from beacon_pipelines.defs.gpu_pool import GPU_RUN_TAG

INFERENCE_JOB = "audit_inference"
ANALYSIS_JOB = "audit_analysis"


def build_jobs(
    inference: AssetsDefinition, analysis: AssetsDefinition, report: AssetsDefinition
) -> list:
    return [
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
    ]
