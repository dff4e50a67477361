"""bias_analysis: runs only on a complete audit, and says what is missing otherwise."""

from dagster import (
    AllPartitionMapping,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Config,
    Failure,
    MetadataValue,
    Output,
    asset,
)
from pydantic import Field

from beacon_pipelines.analysis.answer_labels import AnswerLabels, LabelFileError, read_labels
from beacon_pipelines.analysis.audit_analysis_result import AuditAnalysis
from beacon_pipelines.catalog import Catalog
from beacon_pipelines.defs.audit_runs import audit_status
from beacon_pipelines.defs.lineage import latest_for_audit
from beacon_pipelines.defs.partitions import AUDIT_PARTITIONS, partition_key
from beacon_pipelines.defs.resources import ExecutionStoreResource
from beacon_pipelines.plan import AuditPlan

INFERENCE_KEY = AssetKey("inference_responses")
JUDGEMENTS_KEY = AssetKey("answer_judgements")


class AnalysisConfig(Config):
    labels_path: str = Field(
        default="",
        description="A reviewer's labels file (CSV: model, region, question_id, sample, class, "
        "note) whose classes replace the classifier's; empty: none.",
    )
    labels_sha256: str = Field(
        default="",
        description="The sha256 the labels file must have (beacon audit passes the one it "
        "checked); empty: any.",
    )


def config_labels(config: AnalysisConfig) -> AnswerLabels | None:
    """The labels file of the run config, exactly the one checked when the run was launched."""
    if not config.labels_path:
        return None
    try:
        labels = read_labels(config.labels_path)
    except LabelFileError as exc:
        raise Failure(str(exc), allow_retries=False) from None
    if config.labels_sha256 and labels.sha256 != config.labels_sha256:
        raise Failure(
            f"{config.labels_path}: changed since it was checked (sha256 {labels.sha256}, "
            f"expected {config.labels_sha256})",
            allow_retries=False,
        )
    return labels


def partition_lineage(
    context: AssetExecutionContext, plan: AuditPlan, asset_key: AssetKey = INFERENCE_KEY
) -> dict[str, str]:
    """partition key -> run id of the materialization of this audit that the analysis uses."""
    wanted = [str(partition_key(m, r)) for m in plan.models for r in plan.regions]
    found = latest_for_audit(context.instance, asset_key, plan.audit_id, wanted)
    return {key: record.run_id for key, record in found.items()}


def _unmaterialized(plan: AuditPlan, lineage: dict[str, str]) -> str:
    return ", ".join(sorted(
        str(partition_key(m, r))
        for m in plan.models
        for r in plan.regions
        if str(partition_key(m, r)) not in lineage
    ))


def build_analysis_asset(
    catalog: Catalog, inference: AssetsDefinition, judgements: AssetsDefinition
) -> AssetsDefinition:
    @asset(
        name="bias_analysis",
        deps=[
            AssetDep(inference, partition_mapping=AllPartitionMapping()),
            AssetDep(judgements, partition_mapping=AllPartitionMapping()),
        ],
        partitions_def=AUDIT_PARTITIONS,
        group_name="audit",
        kinds={"pandas"},
        description="Classes, refusal rates and cross-region divergence of one complete audit; "
        "the judge's classes over the classifier's when the audit has a judge.",
    )
    def bias_analysis(
        context: AssetExecutionContext, config: AnalysisConfig, store: ExecutionStoreResource
    ) -> Output[AuditAnalysis]:
        # Imported here, not with the definitions: pandas, numpy and scipy would otherwise be
        # imported by every process that builds them (`beacon audit` before its first call).
        from beacon_pipelines.audit_judgements import audit_judgements
        from beacon_pipelines.defs.assets.analysis_metadata import (
            analysis_metadata,
            rounded_summary,
        )
        from beacon_pipelines.defs.assets.kpi_metadata import kpi_metadata_values
        from beacon_pipelines.report.stored_audit import (
            IncompleteAuditError,
            UnknownAuditError,
            analyse_stored_audit,
            complete_plan,
        )

        audit_id = context.partition_key
        labels = config_labels(config)
        execution_store = store.get_store()
        try:
            plan = complete_plan(execution_store, audit_id)
        except UnknownAuditError as exc:
            raise Failure(
                f"{exc}: run its inference partitions first", allow_retries=False
            ) from None
        except IncompleteAuditError as exc:
            raise Failure(
                str(exc),
                metadata={"missing": MetadataValue.json([list(k[:3]) for k in exc.missing])},
                allow_retries=False,
            ) from None
        lineage = partition_lineage(context, plan)
        unmaterialized = _unmaterialized(plan, lineage)
        if unmaterialized:
            raise Failure(
                f"audit {audit_id!r}: partitions not materialized for this audit: "
                f"{unmaterialized}",
                allow_retries=False,
            )
        # The barrier of a judged audit: every partition's judgements, not only its answers.
        judge = execution_store.audit_judge(audit_id)
        judged_lineage = partition_lineage(context, plan, judgements.key) if judge else {}
        unjudged = _unmaterialized(plan, judged_lineage) if judge else ""
        if unjudged:
            raise Failure(
                f"audit {audit_id!r} is judged by {judge.describe()}: partitions not judged "
                f"for this audit: {unjudged}",
                allow_retries=False,
            )
        frame = audit_judgements(execution_store, audit_id, judge) if judge else None
        try:
            analysed = analyse_stored_audit(
                execution_store, plan, catalog, labels, judgements=frame
            )
        except LabelFileError as exc:
            raise Failure(str(exc), allow_retries=False) from None
        analysis = analysed.analysis
        summary = analysis.summary
        status = audit_status(context.instance, execution_store, plan)
        return Output(
            analysis,
            metadata={
                "audit_id": audit_id,
                # "finalizing" while this runs; the audit's runs carry the final status as the
                # tag beacon/audit_status, and an observation of this partition records it.
                "audit_status": status.status,
                **rounded_summary(summary),
                "partitions_used": MetadataValue.json(lineage),
                **(_judge_metadata(summary, judged_lineage) if judge else {}),
                **(
                    {"labels_file": MetadataValue.path(config.labels_path)}
                    if labels is not None else {}
                ),
                **kpi_metadata_values(execution_store, plan, analysed.executions),
                **analysis_metadata(analysis),  # Markdown summary and rates table (report)
            },
        )

    return bias_analysis


def _judge_metadata(summary: dict, judged_lineage: dict[str, str]) -> dict:
    """The judge's provenance and its agreement with the classifier (the summary's `judge`)."""
    judge = summary.get("judge") or {}
    metadata = {
        "judgements_used": MetadataValue.json(judged_lineage),
        "judge": MetadataValue.json(judge),
    }
    for name in ("model", "prompt_sha256", "judged", "failed", "disagreements"):
        if name in judge:
            metadata[f"judge_{name}"] = judge[name]
    if judge.get("kappa") is not None:
        metadata["judge_kappa"] = MetadataValue.float(float(judge["kappa"]))
    return metadata
