"""The execution store on a real Postgres: creation races, dropped connections, the unique
succeeded index. Each test gets a fresh database."""

from __future__ import annotations

import multiprocessing
from dataclasses import replace

import psycopg2
import pytest
import sqlalchemy as sa

from beacon_pipelines.backends.simulated import SimulatedBackend
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.execution import partition_requests, run_partition
from beacon_pipelines.plan import AuditPlan, missing_keys
from beacon_pipelines.store import DuplicateAttemptError, ExecutionStore, StoreError
from beacon_pipelines.stored_text import STORED_MARK
from beacon_pipelines_tests.instance.create_race import create_at_once
from beacon_pipelines_tests.postgres_fixtures import terminate_connections
from beacon_pipelines_tests.support.hostile_text import assert_kept_exactly, hostile_results

CATALOG = load_catalog()
PLAN = AuditPlan(
    audit_id="pg-a1",
    catalog_sha256=CATALOG.sha256(),
    backend="simulated",
    models=("llama3.2-1b",),
    regions=("US", "EU"),
    questions=("math_basic", "tiananmen_1989"),
    created_at=1.0,
)


@pytest.fixture
def store(pg_url):
    store = ExecutionStore(pg_url).create()
    yield store
    store.dispose()


def _db(store: ExecutionStore) -> str:
    return store.engine.url.database


def _rows(store: ExecutionStore):
    return store.executions_frame(PLAN.audit_id)


def one_result(attempt: int = 1):
    requests, _ = partition_requests(CATALOG, PLAN, "llama3.2-1b", "US", "US", attempts={})
    result = next(SimulatedBackend().generate(requests[:1]))
    return replace(result, request=replace(result.request, attempt=attempt))


def test_a_partition_round_trips_and_postgres_refuses_a_second_success(store):
    plan = store.register_audit(PLAN)
    outcome = run_partition(store, SimulatedBackend(), CATALOG, plan, "llama3.2-1b", "US")
    assert outcome.complete and outcome.succeeded == 2
    assert missing_keys(plan, store.succeeded_keys(plan.audit_id)) == [
        ("llama3.2-1b", "EU", "math_basic", 0),
        ("llama3.2-1b", "EU", "tiananmen_1989", 0),
    ]
    # A new attempt number, succeeded again: the partial unique index says no, on Postgres too.
    with pytest.raises(DuplicateAttemptError, match="already recorded by another worker"):
        store.record(one_result(attempt=2), "simulated")
    assert len(_rows(store)) == 2


def test_many_processes_creating_the_store_at_once_all_succeed(pg_url):
    processes = 8
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(processes) as pool:
        barrier = manager.Barrier(processes)
        outcomes = pool.starmap_async(create_at_once, [(pg_url, barrier)] * processes).get(240)
    assert outcomes == ["ok"] * processes
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("beacon_executions")}
    engine.dispose()
    assert {"beacon_audits", "beacon_executions"} <= tables
    assert "uq_beacon_execution_succeeded" in indexes


def test_connections_the_server_dropped_between_operations_are_replaced(store, pg_admin):
    store.register_audit(PLAN)
    store.record(one_result(), "simulated")
    assert terminate_connections(pg_admin, _db(store)) >= 1
    store.record(_failed(attempt=2), "simulated")
    assert len(_rows(store)) == 2


def _failed(attempt: int):
    from beacon_pipelines.backends.base import ErrorKind, InferenceResult

    request = one_result(attempt).request
    return InferenceResult.failure(request, ErrorKind.UNAVAILABLE, "boom", 1.0, 2.0)


def _kill_before_insert(store, pg_admin, times: int) -> dict:
    """Cut the store's own connection just before it inserts an execution, `times` times."""
    state = {"killed": 0}

    @sa.event.listens_for(store.engine, "before_cursor_execute")
    def kill(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO beacon_executions") and state["killed"] < times:
            state["killed"] += 1
            pid = conn.connection.dbapi_connection.get_backend_pid()
            with pg_admin.connect() as admin:
                admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    state["listener"] = kill
    return state


def test_a_write_whose_connection_drops_is_retried_and_lands_once(store, pg_admin):
    store.register_audit(PLAN)
    state = _kill_before_insert(store, pg_admin, times=2)
    store.record(one_result(), "simulated")
    assert state["killed"] == 2
    rows = _rows(store)
    assert len(rows) == 1 and list(rows["status"]) == ["succeeded"]


def test_a_lost_commit_acknowledgement_does_not_write_the_attempt_twice(store, pg_admin):
    store.register_audit(PLAN)
    state = {"lost": 0}

    @sa.event.listens_for(store.engine, "commit")
    def commit_then_lose_the_reply(conn):
        if state["lost"]:
            return
        state["lost"] += 1
        dbapi = conn.connection.dbapi_connection
        dbapi.commit()  # the row is committed on the server...
        with pg_admin.connect() as admin:  # ...and the connection dies before the client knows
            admin.execute(
                sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": dbapi.get_backend_pid()}
            )
        raise sa.exc.OperationalError(
            "COMMIT",
            None,
            psycopg2.OperationalError("server closed the connection unexpectedly"),
            connection_invalidated=True,
        )

    store.record(one_result(), "simulated")
    assert state["lost"] == 1
    rows = _rows(store)
    assert len(rows) == 1 and list(rows["attempt"]) == [1]


def test_a_database_gone_longer_than_the_budget_fails_loudly_and_writes_nothing(pg_url, pg_admin):
    store = ExecutionStore(pg_url, retry_s=1.0).create()
    store.register_audit(PLAN)
    killer = _kill_before_insert(store, pg_admin, times=10**6)
    with pytest.raises(StoreError) as raised:
        store.record(one_result(), "simulated")
    message = str(raised.value)
    assert "recording attempt 1 of (llama3.2-1b, US, math_basic, sample 0) failed" in message
    assert "terminating connection" in message or "server closed" in message
    assert "\n" not in message
    sa.event.remove(store.engine, "before_cursor_execute", killer["listener"])
    assert len(_rows(store)) == 0
    store.dispose()


def test_nul_bytes_and_lone_surrogates_are_kept_exactly(store):
    """Postgres text refuses NUL and UTF-8 refuses lone surrogates: the store escapes both
    (stored_text.py) and reads them back as they were."""
    store.register_audit(PLAN)
    for result in hostile_results(one_result()):
        store.record(result, "simulated")
    assert_kept_exactly(_rows(store))
    with store.engine.connect() as conn:  # what Postgres holds: the escaped form, marked
        held = conn.execute(sa.text("SELECT response FROM beacon_executions ORDER BY attempt"))
        assert next(iter(held))[0].startswith(STORED_MARK)
