"""Everything a report is rendered from, gathered in one place (no Dagster, no store)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from beacon_pipelines.analysis.audit_analysis import AuditAnalysis
from beacon_pipelines.catalog import Catalog
from beacon_pipelines.plan import AuditPlan


@dataclass(frozen=True)
class ReportInputs:
    plan: AuditPlan
    analysis: AuditAnalysis
    executions: pd.DataFrame  # every attempt, as the store holds it
    question_texts: dict[str, str]
    question_categories: dict[str, str]
    model_hf_ids: dict[str, str]
    # model -> the region its answers are diffed against (its home region when audited)
    home_regions: dict[str, str]
    beacon_version: str
    # Extra provenance lines (report run, store URL, catalog note): label -> value.
    provenance: dict[str, str] = field(default_factory=dict)
    # The Dagster run writing the report, if any (listed in manifest.json with the partitions').
    report_run_id: str | None = None
    # Censorship rate per model over the last audits of this question set (censorship_trend.py);
    # empty: no trend section.
    trend: pd.DataFrame = field(default_factory=pd.DataFrame)
    # The catalog's regions in its order; the audit's regions are shown in this order everywhere.
    catalog_regions: tuple[str, ...] = ()

    @property
    def regions(self) -> list[str]:
        """The audit's regions in the catalog's order (the plan's order for regions the catalog
        does not know)."""
        known = [r for r in self.catalog_regions if r in self.plan.regions]
        return known + [r for r in self.plan.regions if r not in known]

    @property
    def simulated(self) -> bool:
        column = self.executions.get("simulated", pd.Series(dtype=bool))
        return self.plan.backend == "simulated" or bool(column.fillna(False).astype(bool).any())


def home_regions(catalog: Catalog, plan: AuditPlan) -> dict[str, str]:
    """The catalog's home region of each model, or the audit's first region when it has none
    or it was not audited."""
    known = {m.id: getattr(m, "home_region", None) for m in catalog.models}
    return {
        model: known.get(model) if known.get(model) in plan.regions else plan.regions[0]
        for model in plan.models
    }


def report_inputs(
    catalog: Catalog,
    plan: AuditPlan,
    analysis: AuditAnalysis,
    executions: pd.DataFrame,
    beacon_version: str,
    provenance: dict[str, str] | None = None,
    report_run_id: str | None = None,
    trend: pd.DataFrame | None = None,
) -> ReportInputs:
    return ReportInputs(
        plan=plan,
        analysis=analysis,
        executions=executions,
        question_texts={q.id: q.text for q in catalog.questions},
        question_categories={q.id: q.category for q in catalog.questions},
        model_hf_ids={m.id: m.hf_id for m in catalog.models},
        home_regions=home_regions(catalog, plan),
        beacon_version=beacon_version,
        provenance=dict(provenance or {}),
        report_run_id=report_run_id,
        trend=pd.DataFrame() if trend is None else trend,
        catalog_regions=tuple(catalog.region_ids),
    )
