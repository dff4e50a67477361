"""`beacon report AUDIT_ID`: re-render an audit's report folder from the execution store.

The store is the record: the analysis is recomputed from it with the current code and the
files are written all or nothing, exactly as the bias_report asset writes them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import beacon_pipelines
from beacon_pipelines.analysis.audit_analysis import analyze_audit
from beacon_pipelines.analysis.audit_compare import previous_audit
from beacon_pipelines.audit_plan import check_audit_id, missing_keys
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.report.audit_report import write_audit_report
from beacon_pipelines.report.report_inputs import report_inputs
from beacon_pipelines.store import ExecutionStore, default_store_url

DEFAULT_REPORTS_DIR = "reports"


class UnknownAuditError(LookupError):
    """No such audit in the store; the message names the audit and the store."""


class IncompleteAuditError(RuntimeError):
    """The audit has executions missing: there is nothing complete to report on."""


@dataclass
class Rerendered:
    written: dict[str, Path]
    warnings: list[str] = field(default_factory=list)


def _analyse(audit_id, executions, catalog, plan, store: ExecutionStore):
    """The analysis as the bias_analysis asset computes it, previous audit included."""
    before = previous_audit(store.list_audits(), plan)
    return analyze_audit(
        audit_id,
        executions,
        {q.id: q.category for q in catalog.questions},
        question_texts={q.id: q.text for q in catalog.questions},
        previous=(before.audit_id, store.executions_frame(before.audit_id)) if before else None,
        region_order=list(plan.regions),
    )


def rerender_report(
    audit_id: str,
    out_dir: Path | None = None,
    catalog_path: Path | None = None,
    store_url: str | None = None,
) -> Rerendered:
    from beacon_pipelines.instance_home import ensure_dagster_home

    check_audit_id(audit_id)
    catalog = load_catalog(catalog_path)
    if store_url is None:
        store_url = os.environ.get("BEACON_STORE_URL") or default_store_url(ensure_dagster_home())
    store = ExecutionStore(store_url)
    try:
        plan = store.get_audit(audit_id)
        if plan is None:
            raise UnknownAuditError(f"no audit {audit_id!r} in {store.display_url}")
        missing = missing_keys(plan, store.succeeded_keys(audit_id))
        if missing:
            raise IncompleteAuditError(
                f"audit {audit_id!r} is incomplete: {len(missing)} of "
                f"{len(plan.expected_keys())} executions missing; resume it with "
                f"`beacon audit --audit-id {audit_id}`"
            )
        executions = store.executions_frame(audit_id)
        display_url = store.display_url
        analysis = _analyse(audit_id, executions, catalog, plan, store)
    finally:
        store.dispose()

    warnings = []
    provenance = {
        "report written by": "beacon report (re-rendered from the execution store)",
        "execution store": display_url,
    }
    if plan.catalog_sha256 != catalog.sha256():
        note = (
            f"the catalog used for question texts and home regions (sha256 {catalog.sha256()}) "
            f"is not the one the audit ran with ({plan.catalog_sha256})"
        )
        warnings.append(note)
        provenance["catalog note"] = note
    inputs = report_inputs(
        catalog, plan, analysis, executions, beacon_pipelines.__version__, provenance
    )
    target = Path(out_dir or Path(DEFAULT_REPORTS_DIR) / audit_id).resolve()
    return Rerendered(write_audit_report(inputs, target), warnings)
