"""bias_analysis: runs only on a complete audit, and says what is missing otherwise."""

from dagster import (
    AllPartitionMapping,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    AssetsDefinition,
    Failure,
    MetadataValue,
    Output,
    asset,
)

from beacon_pipelines.analysis.audit_analysis import AuditAnalysis, analyze_audit
from beacon_pipelines.analysis.audit_compare import previous_audit
from beacon_pipelines.assets.analysis_metadata import analysis_metadata
from beacon_pipelines.assets.audit_context import run_audit_id
from beacon_pipelines.audit_plan import AuditPlan, missing_keys
from beacon_pipelines.catalog import Catalog
from beacon_pipelines.partitions import partition_key
from beacon_pipelines.resources import ExecutionStoreResource

INFERENCE_KEY = AssetKey("inference_responses")
MAX_LISTED_MISSING = 20
LINEAGE_PAGE = 200


def partition_lineage(context: AssetExecutionContext, plan: AuditPlan) -> dict[str, str]:
    """partition key -> run id of the materialization of this audit that the analysis uses."""
    wanted = {str(partition_key(m, r)) for m in plan.models for r in plan.regions}
    records_filter = AssetRecordsFilter(asset_key=INFERENCE_KEY, asset_partitions=sorted(wanted))
    used: dict[str, str] = {}
    cursor = None
    # Newest first, page by page: an old audit's partitions may lie behind many later audits.
    while len(used) < len(wanted):
        page = context.instance.fetch_materializations(
            records_filter, limit=LINEAGE_PAGE, cursor=cursor, ascending=False
        )
        for record in page.records:
            materialization = record.asset_materialization
            audit = materialization.metadata.get("audit_id") if materialization else None
            if audit is None or audit.value != plan.audit_id:
                continue
            used.setdefault(materialization.partition, record.run_id)
        if not page.has_more:
            break
        cursor = page.cursor
    return used


def _describe_missing(missing: list[tuple]) -> str:
    listed = ", ".join(f"({m}, {r}, {q})" for m, r, q, _ in missing[:MAX_LISTED_MISSING])
    more = len(missing) - MAX_LISTED_MISSING
    return listed + (f" and {more} more" if more > 0 else "")


def build_analysis_asset(catalog: Catalog, inference: AssetsDefinition) -> AssetsDefinition:
    categories = {q.id: q.category for q in catalog.questions}
    question_texts = {q.id: q.text for q in catalog.questions}

    @asset(
        name="bias_analysis",
        deps=[AssetDep(inference, partition_mapping=AllPartitionMapping())],
        group_name="audit",
        kinds={"pandas"},
        description="Classes, refusal rates and cross-region divergence of one complete audit.",
    )
    def bias_analysis(
        context: AssetExecutionContext, store: ExecutionStoreResource
    ) -> Output[AuditAnalysis]:
        audit_id = run_audit_id(context)
        execution_store = store.get_store()
        plan = execution_store.get_audit(audit_id)
        if plan is None:
            raise Failure(
                f"no audit {audit_id!r} in the execution store: run its inference partitions first",
                allow_retries=False,
            )
        missing = missing_keys(plan, execution_store.succeeded_keys(audit_id))
        if missing:
            raise Failure(
                f"audit {audit_id!r} is incomplete: {len(missing)} of "
                f"{len(plan.expected_keys())} executions missing: {_describe_missing(missing)}",
                metadata={"missing": MetadataValue.json([list(k[:3]) for k in missing])},
                allow_retries=False,
            )
        lineage = partition_lineage(context, plan)
        unmaterialized = sorted(
            str(partition_key(m, r))
            for m in plan.models
            for r in plan.regions
            if str(partition_key(m, r)) not in lineage
        )
        if unmaterialized:
            raise Failure(
                f"audit {audit_id!r}: partitions not materialized for this audit: "
                f"{', '.join(unmaterialized)}",
                allow_retries=False,
            )
        before = previous_audit(execution_store.list_audits(), plan)
        analysis = analyze_audit(
            audit_id,
            execution_store.executions_frame(audit_id),
            categories,
            question_texts=question_texts,
            previous=(before.audit_id, execution_store.executions_frame(before.audit_id))
            if before
            else None,
            region_order=list(plan.regions),
        )
        summary = analysis.summary
        return Output(
            analysis,
            metadata={
                "audit_id": audit_id,
                **{k: v for k, v in summary.items()},
                "partitions_used": MetadataValue.json(lineage),
                **analysis_metadata(analysis),  # Markdown summary and rates table (report)
            },
        )

    return bias_analysis
