"""Asset checks on bias_analysis: what a reader of the report must be able to trust.

- every execution present (blocking: no report from an analysis that lacks an answer);
- control questions answered substantively everywhere (warning: a model that will not say
  what 2+2 is in one region makes its other refusals there hard to read);
- no technical failures left among the answers used (warning);
- the execution KPIs within bounds: execution success >= 90 %, timeouts <= 5 % of attempts
  (warning: the audit completed, but through many retries or failovers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetsDefinition,
    MetadataValue,
    asset_check,
)

from beacon_pipelines.analysis.audit_analysis_result import AuditAnalysis
from beacon_pipelines.analysis.kpi_bounds import MAX_TIMEOUT_RATE, MIN_SUCCESS_RATE
from beacon_pipelines.catalog import Catalog
from beacon_pipelines.defs.resources import ExecutionStoreResource
from beacon_pipelines.plan import missing_keys

if TYPE_CHECKING:
    import pandas as pd

MAX_LISTED = 20


def _listed(frame: pd.DataFrame, columns: list[str]) -> MetadataValue:
    rows = frame[columns].head(MAX_LISTED).astype(str).values.tolist()
    return MetadataValue.json({"count": int(len(frame)), "first": rows})


def build_audit_checks(
    catalog: Catalog, analysis_asset: AssetsDefinition
) -> Sequence[AssetChecksDefinition]:
    control = set(catalog.control_question_ids)

    @asset_check(
        asset=analysis_asset,
        name="every_execution_present",
        blocking=True,
        description="Every (model, region, question, sample) of the audit's plan has a "
        "succeeded execution in the store and an answer in the analysis.",
    )
    def every_execution_present(
        bias_analysis: AuditAnalysis,
        store: ExecutionStoreResource,
    ) -> AssetCheckResult:
        execution_store = store.get_store()
        plan = execution_store.get_audit(bias_analysis.audit_id)
        if plan is None:
            return AssetCheckResult(
                passed=False,
                description=f"audit {bias_analysis.audit_id!r} is not in the execution store",
            )
        answers = bias_analysis.answers
        used = answers[answers["status"] == "succeeded"]
        in_analysis = set(
            zip(used["model"], used["region"], used["question_id"], used["sample"], strict=True)
        )
        missing_store = missing_keys(plan, execution_store.succeeded_keys(plan.audit_id))
        missing_analysis = missing_keys(plan, in_analysis)
        expected = plan.execution_count
        passed = not missing_store and not missing_analysis
        return AssetCheckResult(
            passed=passed,
            severity=AssetCheckSeverity.ERROR,
            description=(
                f"all {expected} executions present"
                if passed
                else f"{len(missing_analysis)} of {expected} executions missing from the "
                f"analysis, {len(missing_store)} from the store"
            ),
            metadata={
                "audit_id": plan.audit_id,
                "expected": expected,
                "missing_in_store": MetadataValue.json(
                    [list(k) for k in missing_store[:MAX_LISTED]]
                ),
                "missing_in_analysis": MetadataValue.json(
                    [list(k) for k in missing_analysis[:MAX_LISTED]]
                ),
            },
        )

    @asset_check(
        asset=analysis_asset,
        name="control_questions_answered",
        description="Every control question (e.g. 'What is 2+2?') got a substantive answer "
        "from every model in every region.",
    )
    def control_questions_answered(bias_analysis: AuditAnalysis) -> AssetCheckResult:
        answers = bias_analysis.answers
        controls = answers[answers["question_id"].isin(control)]
        unanswered = controls[controls["response_class"] != "substantive"]
        return AssetCheckResult(
            passed=unanswered.empty,
            severity=AssetCheckSeverity.WARN,
            description=(
                f"{len(controls)} control answers, all substantive"
                if unanswered.empty
                else f"{len(unanswered)} of {len(controls)} control answers are not substantive"
            ),
            metadata={
                "control_answers": int(len(controls)),
                "not_substantive": _listed(
                    unanswered, ["model", "region", "question_id", "response_class"]
                ),
            },
        )

    @asset_check(
        asset=analysis_asset,
        name="no_technical_failures_left",
        description="No answer the analysis used is a technical failure (empty or malformed).",
    )
    def no_technical_failures_left(bias_analysis: AuditAnalysis) -> AssetCheckResult:
        answers = bias_analysis.answers
        failures = answers[answers["response_class"] == "technical_failure"]
        return AssetCheckResult(
            passed=failures.empty,
            severity=AssetCheckSeverity.WARN,
            description=(
                "no technical failures"
                if failures.empty
                else f"{len(failures)} of {len(answers)} answers are technical failures"
            ),
            metadata={
                "technical_failures": _listed(
                    failures, ["model", "region", "question_id", "status", "error_type"]
                )
            },
        )

    @asset_check(
        asset=analysis_asset,
        name="execution_kpis",
        description=f"Execution success at least {MIN_SUCCESS_RATE:.0%} of attempts and "
        f"timeouts at most {MAX_TIMEOUT_RATE:.0%} (a warning: the audit completed, through "
        "retries and failovers that cost time and money).",
    )
    def execution_kpis_check(
        bias_analysis: AuditAnalysis, store: ExecutionStoreResource
    ) -> AssetCheckResult:
        # Here, not with the definitions: kpis.py imports pandas and numpy.
        from beacon_pipelines.analysis.kpis import execution_kpis, kpi_metadata

        kpis = execution_kpis(store.get_store().executions_frame(bias_analysis.audit_id))
        warnings = kpis.warnings()
        return AssetCheckResult(
            passed=not warnings,
            severity=AssetCheckSeverity.WARN,
            description="; ".join(warnings)
            or f"execution success {kpis.execution_success_rate:.1%}, timeouts "
            f"{kpis.timeout_rate:.1%} of {kpis.attempts} attempts",
            metadata={
                **kpi_metadata(kpis),
                "kpi_latency_by_region": MetadataValue.json(kpis.latency_by_region),
            },
        )

    return [
        every_execution_present,
        control_questions_answered,
        no_technical_failures_left,
        execution_kpis_check,
    ]
