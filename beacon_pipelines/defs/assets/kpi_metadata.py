"""The execution KPIs as bias_analysis metadata: this audit's, and pooled over the last audits
of the same catalog (so a run of bad luck and a trend can be told apart in the UI)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagster import MetadataValue

from beacon_pipelines.plan import AuditPlan
from beacon_pipelines.store import ExecutionStore

if TYPE_CHECKING:  # imported where the figures are computed (see analysis_metadata.py)
    import pandas as pd

ACROSS_LAST = 10  # audits pooled for the "across audits" figures, this one included


def kpi_metadata_values(store: ExecutionStore, plan: AuditPlan, executions: pd.DataFrame) -> dict:
    from beacon_pipelines.analysis.kpis import execution_kpis, kpi_metadata, kpis_across

    kpis = execution_kpis(executions)
    same = [
        p for p in store.list_audits()
        if p.catalog_sha256 == plan.catalog_sha256 and p.created_at <= plan.created_at
        and p.audit_id != plan.audit_id
    ][-(ACROSS_LAST - 1):]
    across = kpis_across([executions, *(store.executions_frame(p.audit_id) for p in same)])
    return {
        **kpi_metadata(kpis),
        "kpi_latency_by_region": MetadataValue.json(kpis.latency_by_region),
        "kpi_warnings": MetadataValue.json(kpis.warnings()),
        "kpis_across_audits": MetadataValue.json(across.as_dict()),
    }
