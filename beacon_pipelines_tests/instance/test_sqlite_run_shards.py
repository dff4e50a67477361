"""Run databases copied from a template and kept open while written (instance/sqlite_run_shards.py):
the same databases Dagster builds, readable by Dagster, whole once their run ends, and never a
stale copy after a Dagster schema change."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, job, op
from dagster._core.storage.event_log import SqliteEventLogStorage

from beacon_pipelines.instance.sqlite_run_shards import (
    INDEX_SHARD,
    TEMPLATE_SHARD,
    alembic_revision,
)


@op
def say_hello() -> str:
    return "hello"


@job
def hello_job():
    say_hello()


def _schema(path: str) -> set[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        return set(rows.fetchall())
    finally:
        conn.close()


def _run(instance) -> str:
    result = hello_job.execute_in_process(instance=instance)
    assert result.success
    return result.run_id


@pytest.mark.integration  # Dagster's log capture tails each step's log in a process
def test_a_run_database_is_dagsters_own_schema_readable_and_whole_when_the_run_ends(
    dagster_home: Path, tmp_path: Path
):
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        run_id = _run(instance)
        shard = storage.path_for_shard(run_id)
        template = storage.path_for_shard(TEMPLATE_SHARD)
        index_revision = alembic_revision(storage.path_for_shard(INDEX_SHARD))
        assert alembic_revision(template, immutable=True) == index_revision
        assert alembic_revision(shard) == index_revision
        # Every event the run wrote is there for Dagster to read.
        events = {e.dagster_event.event_type for e in instance.all_logs(run_id)}
        assert {
            DagsterEventType.RUN_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.RUN_SUCCESS
        } <= events
        # The run's last event closed what was held: its WAL is folded into the database.
        assert not Path(f"{shard}-wal").exists()
        # The template is no run of the instance.
        assert run_id in storage.get_all_run_ids()
        assert TEMPLATE_SHARD not in storage.get_all_run_ids()
    # The same tables and indexes as a run database Dagster builds itself.
    plain = SqliteEventLogStorage(str(tmp_path / "plain"))
    with plain.run_connection(run_id):
        pass
    assert _schema(shard) == _schema(plain.path_for_shard(run_id))


@pytest.mark.integration  # Dagster's log capture tails each step's log in a process
def test_a_stale_template_is_rebuilt_before_it_is_copied(dagster_home: Path):
    with DagsterInstance.get() as instance:
        _run(instance)
        storage = instance.event_log_storage
        template = storage.path_for_shard(TEMPLATE_SHARD)
    # As after a Dagster upgrade and `dagster instance migrate`: the template's stamp is old.
    conn = sqlite3.connect(template)
    conn.execute("UPDATE alembic_version SET version_num = 'older'")
    conn.commit()
    conn.close()
    with DagsterInstance.get() as instance:
        run_id = _run(instance)
        storage = instance.event_log_storage
        index_revision = alembic_revision(storage.path_for_shard(INDEX_SHARD))
        assert alembic_revision(template, immutable=True) == index_revision
        assert alembic_revision(storage.path_for_shard(run_id)) == index_revision


@pytest.mark.integration  # Dagster's log capture tails each step's log in a process
def test_an_instance_awaiting_migration_gets_run_databases_built_by_dagster(dagster_home: Path):
    with DagsterInstance.get() as instance:
        _run(instance)
        index = instance.event_log_storage.path_for_shard(INDEX_SHARD)
    # The index is at a revision no template built now can have (`dagster instance migrate`
    # not run yet): nothing is copied, Dagster builds the run's database as it always did.
    conn = sqlite3.connect(index)
    conn.execute("UPDATE alembic_version SET version_num = 'older'")
    conn.commit()
    conn.close()
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        run_id = _run(instance)
        assert alembic_revision(storage.path_for_shard(run_id)) not in (None, "older")
        assert len(instance.all_logs(run_id)) > 0
