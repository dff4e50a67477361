"""Inference requests for one partition, built the way the orchestration builds them."""

from __future__ import annotations

import time

from beacon_pipelines.backends.base import InferenceRequest
from beacon_pipelines.catalog import Catalog, load_catalog
from beacon_pipelines.execution import partition_requests
from beacon_pipelines.plan import AuditPlan


def plan_for(catalog: Catalog, audit_id: str = "audit-test") -> AuditPlan:
    return AuditPlan(
        audit_id=audit_id,
        catalog_sha256=catalog.sha256(),
        backend="test",
        models=tuple(catalog.model_ids),
        regions=tuple(catalog.region_ids),
        questions=tuple(catalog.question_ids),
        created_at=time.time(),
    )


def partition(
    model: str = "llama3.2-1b", region: str = "EU", target: str | None = None
) -> list[InferenceRequest]:
    catalog = load_catalog()
    requests, _ = partition_requests(
        catalog, plan_for(catalog), model, region, target or region, attempts={}
    )
    return requests
