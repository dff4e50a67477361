"""The jobs of an audit: one (model, region) inference partition, judged or not; its analysis
and report."""

from dagster import AssetsDefinition, AssetSelection, define_asset_job

from beacon_pipelines.defs.gpu_pool import GPU_RUN_TAG

INFERENCE_JOB = "audit_inference"
JUDGED_INFERENCE_JOB = "audit_inference_judged"
ANALYSIS_JOB = "audit_analysis"


def build_jobs(
    inference: AssetsDefinition,
    judgements: AssetsDefinition,
    analysis: AssetsDefinition,
    report: AssetsDefinition,
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
        # A job of its own, so an audit without a judge runs exactly the one step it always
        # did; with a judge, the partition's answers are judged in the same run, right after
        # they are in, each step holding a `gpu` slot only while it runs.
        define_asset_job(
            JUDGED_INFERENCE_JOB,
            selection=AssetSelection.assets(inference, judgements),
            description="One (model, region) partition of an audit, then its judge's verdicts.",
            tags={GPU_RUN_TAG: "1"},
        ),
        define_asset_job(
            ANALYSIS_JOB,
            selection=AssetSelection.assets(analysis, report),
            description="Analyse a complete audit and write its report.",
        ),
    ]
