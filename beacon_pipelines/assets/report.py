"""bias_report: the HTML report and CSV exports of an analysed audit, written all or nothing."""

from pathlib import Path

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
from beacon_pipelines.analysis.audit_analysis import AuditAnalysis
from beacon_pipelines.catalog import Catalog
from beacon_pipelines.report.exports import OutputDirError, executions_for_export, write_files
from beacon_pipelines.report.html import render_report
from beacon_pipelines.resources import ExecutionStoreResource

DEFAULT_REPORTS_DIR = "reports"


class ReportConfig(Config):
    out_dir: str = Field(
        default="", description="Folder for report.html and the CSVs; empty: reports/<audit_id>."
    )


def build_report_asset(catalog: Catalog, analysis_asset: AssetsDefinition) -> AssetsDefinition:
    question_texts = {q.id: q.text for q in catalog.questions}

    @asset(
        name="bias_report",
        ins={},
        group_name="audit",
        kinds={"html", "csv"},
        description="report.html, executions.csv and analysis.csv of the analysed audit.",
    )
    def bias_report(
        context: AssetExecutionContext,
        config: ReportConfig,
        store: ExecutionStoreResource,
        bias_analysis: AuditAnalysis,
    ) -> MaterializeResult:
        execution_store = store.get_store()
        plan = execution_store.get_audit(bias_analysis.audit_id)
        if plan is None:
            raise Failure(f"audit {bias_analysis.audit_id!r} is not in the execution store")
        executions = execution_store.executions_frame(plan.audit_id)
        out_dir = Path(config.out_dir or Path(DEFAULT_REPORTS_DIR) / plan.audit_id).resolve()
        provenance = {
            "audit_id": plan.audit_id,
            "beacon_version": beacon_pipelines.__version__,
            "catalog_sha256": plan.catalog_sha256,
            "dagster_runs": ", ".join(sorted(set(executions["run_id"].dropna()))),
            "report_run": context.run.run_id,
            "models": ", ".join(f"{m.id}={m.hf_id}" for m in catalog.models if m.id in plan.models),
            "execution_store": execution_store.display_url,
        }
        page = render_report(bias_analysis, plan, question_texts, provenance)
        try:
            written = write_files(
                out_dir,
                {
                    "report.html": lambda p: p.write_text(page, encoding="utf-8"),
                    "executions.csv": lambda p: executions_for_export(executions).to_csv(
                        p, index=False
                    ),
                    "analysis.csv": lambda p: bias_analysis.questions.to_csv(p, index=False),
                },
            )
        except OutputDirError as exc:
            raise Failure(str(exc), allow_retries=False) from None
        return MaterializeResult(
            metadata={
                "audit_id": plan.audit_id,
                "report_path": MetadataValue.path(str(written["report.html"])),
                "executions_csv": MetadataValue.path(str(written["executions.csv"])),
                "analysis_csv": MetadataValue.path(str(written["analysis.csv"])),
            }
        )

    return bias_report
