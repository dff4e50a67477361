"""How fast the execution store takes answers: rows per second written through `record_many`,
one transaction per batch, for a batch of 1 (one transaction per answer, as before batching)
and the default batch, on SQLite (a temp file) and on Postgres (a fresh database on
$BEACON_BENCH_POSTGRES_URL's server, dropped afterwards). One writer, as one partition is.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from beacon_pipelines.backends.batches import DEFAULT_BATCH_SIZE
from beacon_pipelines.backends.simulated import SimulatedBackend
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.execution import partition_requests
from beacon_pipelines.plan import AuditPlan
from beacon_pipelines.store import ExecutionStore


def _results(audit_id: str, samples: int):
    catalog = load_catalog()
    plan = AuditPlan(
        audit_id=audit_id, catalog_sha256=catalog.sha256(), backend="simulated",
        models=("llama3.2-1b",), regions=("US",), questions=tuple(catalog.question_ids),
        samples=samples, created_at=1.0,
    )  # fmt: skip
    requests, _ = partition_requests(catalog, plan, "llama3.2-1b", "US", "US", {})
    return plan, list(SimulatedBackend().generate(requests))


def rows_per_s(url: str, batch: int, rows: int = 2_000) -> float:
    store = ExecutionStore(url).create()
    plan, results = _results(f"writes-{batch}-{time.time_ns()}", samples=-(-rows // 8))
    store.register_audit(plan)
    started = time.perf_counter()
    for i in range(0, len(results), batch):
        store.record_many(results[i : i + batch], "simulated")
    elapsed = time.perf_counter() - started
    store.dispose()
    return len(results) / elapsed


def measure(postgres_admin_url: str | None) -> dict[str, float]:
    figures = {}
    with tempfile.TemporaryDirectory(prefix="beacon-writes-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'beacon.db'}"
        figures["sqlite_1"] = rows_per_s(url, 1)
        figures["sqlite_batch"] = rows_per_s(url, DEFAULT_BATCH_SIZE)
    if postgres_admin_url:
        import sqlalchemy as sa
        from big_audit import _drop_database, _postgres_database

        admin, name = _postgres_database(postgres_admin_url)
        url = sa.engine.make_url(postgres_admin_url).set(database=name)
        url = url.render_as_string(hide_password=False)
        try:
            figures["postgres_1"] = rows_per_s(url, 1)
            figures["postgres_batch"] = rows_per_s(url, DEFAULT_BATCH_SIZE)
        finally:
            _drop_database(admin, name)
    return figures
