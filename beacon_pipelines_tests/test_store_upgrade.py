"""A store created by the previous Beacon keeps working: create() adds the provenance columns
in place (ALTER TABLE ADD COLUMN), old rows read as "not reported", new rows keep receipts."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from beacon_pipelines.backends.simulated import SimulatedBackend
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.execution import run_partition
from beacon_pipelines.plan import AuditPlan
from beacon_pipelines.store import EXECUTION_COLUMNS, ExecutionStore
from beacon_pipelines_tests.support.previous_store_schema import create_previous_store

CATALOG = load_catalog()
PLAN = AuditPlan(
    audit_id="old-a1",
    catalog_sha256=CATALOG.sha256(),
    backend="simulated",
    models=("llama3.2-1b",),
    regions=("US",),
    questions=("math_basic", "tiananmen_1989"),
    created_at=1.0,
)
PLAN_ROW = {
    "audit_id": PLAN.audit_id,
    "created_at": 1.0,
    "catalog_sha256": PLAN.catalog_sha256,
    "backend": "simulated",
    "models": json.dumps(list(PLAN.models)),
    "regions": json.dumps(list(PLAN.regions)),
    "questions": json.dumps(list(PLAN.questions)),
    "samples": 1,
}


def _upgrade_and_use(url: str) -> None:
    create_previous_store(url, PLAN.audit_id, PLAN_ROW)
    store = ExecutionStore(url).create()
    try:
        columns = {c["name"] for c in sa.inspect(store.engine).get_columns("beacon_executions")}
        assert set(EXECUTION_COLUMNS) <= columns
        # The index progress polls count from is added to the old table too.
        indexes = {i["name"] for i in sa.inspect(store.engine).get_indexes("beacon_executions")}
        assert "ix_beacon_executions_audit_status" in indexes
        # The old answer is still there, its provenance "not reported".
        old = store.executions_frame(PLAN.audit_id)
        assert list(old.columns) == EXECUTION_COLUMNS and len(old) == 1
        assert old.loc[0, "response"] == "4" and old.loc[0, "run_id"] == "run-old"
        assert old.loc[0, "served_cloud_region"] is None and old.loc[0, "region_verified"] is None
        assert old.loc[0, "language"] is None  # asked before languages were recorded

        # The audit resumes on the upgraded store: only the missing answer is asked.
        outcome = run_partition(store, SimulatedBackend(), CATALOG, PLAN, "llama3.2-1b", "US")
        assert outcome.reused == 1 and outcome.succeeded == 1 and outcome.complete
        new = store.executions_frame(PLAN.audit_id).iloc[-1]
        assert new["question_id"] == "tiananmen_1989"
        assert new["region_verified"] == "unverified"  # the simulated server reports no region
        assert len(new["prompt_sha256"]) == 64
        assert new["language"] == "en"

        # Opening it again (another process, the next audit) changes nothing.
        ExecutionStore(url).create().dispose()
    finally:
        store.dispose()


def test_an_old_sqlite_store_is_upgraded_in_place(tmp_path):
    _upgrade_and_use(f"sqlite:///{tmp_path / 'beacon.db'}")


@pytest.mark.integration
def test_an_old_postgres_store_is_upgraded_in_place(pg_url):
    _upgrade_and_use(pg_url)
