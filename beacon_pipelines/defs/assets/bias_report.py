"""bias_report: report.html and the CSV/Parquet exports of an analysed audit, all or nothing."""


from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

import beacon_pipelines
from beacon_pipelines.analysis.audit_analysis_result import AuditAnalysis
from beacon_pipelines.catalog import Catalog
from beacon_pipelines.defs.partitions import AUDIT_PARTITIONS
from beacon_pipelines.defs.resources import ExecutionStoreResource, ReportSigningResource
from beacon_pipelines.report.output_folder import report_folder


class ReportConfig(Config):
    out_dir: str = Field(
        default="", description="Folder for report.html and the exports; empty: reports/<audit_id>."
    )


def build_report_asset(catalog: Catalog, analysis_asset: AssetsDefinition) -> AssetsDefinition:
    @asset(
        name="bias_report",
        ins={},
        partitions_def=AUDIT_PARTITIONS,
        group_name="audit",
        kinds={"html", "csv", "parquet"},
        description="report.html, executions.csv/.parquet, analysis.csv/.parquet, "
        "answers.csv/.parquet and manifest.json (their sha256, optionally signed) of the "
        "analysed audit.",
    )
    def bias_report(
        context: AssetExecutionContext,
        config: ReportConfig,
        store: ExecutionStoreResource,
        signing: ReportSigningResource,
        bias_analysis: AuditAnalysis,
    ) -> MaterializeResult:
        # Imported here, not with the definitions (see bias_analysis.py).
        from beacon_pipelines.report.exports import OutputDirError
        from beacon_pipelines.report.folder import write_audit_report
        from beacon_pipelines.report.inputs import report_inputs
        from beacon_pipelines.report.stored_audit import stored_trend

        if bias_analysis.audit_id != context.partition_key:
            # A report must never be written from another audit's analysis.
            raise Failure(
                f"the analysis loaded for audit {context.partition_key!r} is of audit "
                f"{bias_analysis.audit_id!r}; re-run the analysis of {context.partition_key!r}",
                allow_retries=False,
            )
        execution_store = store.get_store()
        plan = execution_store.get_audit(bias_analysis.audit_id)
        if plan is None:
            raise Failure(f"audit {bias_analysis.audit_id!r} is not in the execution store")
        executions = execution_store.executions_frame(plan.audit_id)
        out_dir = report_folder(plan.audit_id, config.out_dir)
        inputs = report_inputs(
            catalog,
            plan,
            bias_analysis,
            executions,
            beacon_pipelines.__version__,
            provenance={
                "report written by": f"Dagster run {context.run.run_id} (bias_report)",
                "execution store": execution_store.display_url,
            },
            report_run_id=context.run.run_id,
            trend=stored_trend(execution_store, plan, analysis=bias_analysis, catalog=catalog),
        )
        try:
            written = write_audit_report(inputs, out_dir, signing_key=signing.signing_key)
        except OutputDirError as exc:
            raise Failure(str(exc), allow_retries=False) from None
        return MaterializeResult(
            metadata={
                "audit_id": plan.audit_id,
                "report_path": MetadataValue.path(str(written["report.html"])),
                "manifest_signed": bool(signing.signing_key),  # whether, never the key
                **{
                    name.replace(".", "_"): MetadataValue.path(str(path))
                    for name, path in written.items()
                    if name != "report.html"
                },
            }
        )

    return bias_report
