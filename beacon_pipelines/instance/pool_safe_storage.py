"""Dagster's event log storages with the pool's slot bookkeeping made atomic.

The GPU cap is a Dagster pool. Dagster claims a slot in several autocommit statements (count the
free slots, queue the step as assigned, pick a free slot row, write the claim): SQLite ignores
`SELECT ... FOR UPDATE`, and on Postgres each statement commits (and drops its row lock) on its
own, so two processes claiming at once can both be assigned the one free slot and both run.
Measured here on SQLite: 4 inference steps in flight under a limit of 3 with 9 partition runs.
Holding one exclusive lock across each claim and release makes them serial, which is all that
is missing; everything else is Dagster's own storage, tables and layout unchanged.

Selected in dagster.yaml (SQLite; base_dir defaults to Dagster's own, $DAGSTER_HOME/history/runs):

    event_log_storage:
      module: beacon_pipelines.instance.pool_safe_storage
      class: PoolSafeSqliteEventLogStorage
      config: {}

or, on Postgres (same config as dagster-postgres' PostgresEventLogStorage; see
deploy/dagster.postgres.yaml):

    event_log_storage:
      module: beacon_pipelines.instance.pool_safe_storage
      class: PoolSafePostgresEventLogStorage
      config: {postgres_db: {...}}
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from dagster import Field, StringSource
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._serdes import ConfigurableClassData
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

from beacon_pipelines.instance.sqlite_run_shards import FewerSyncsRunShards

LOCK_FILE = ".pool-slots.lock"
# One byte appended per release: a blocked claim on this host wakes when the file grows.
FREED_FILE = ".pool-slots.freed"
FREED_POLL_S = 0.02
# pg_advisory_lock key: any constant shared by every process of the instance ("BEACONPL").
PG_LOCK_KEY = 0x424541434F4E504C


class SerialisedPoolSlots:
    """Mixin: pool slot claims and releases run one at a time across every process, and a
    blocked claim waits here rather than in Dagster's executor loop.

    Dagster 1.13's executor does not sleep between the claims of a blocked step
    (`interval_to_next_pending_claim_check` returns min(0, ...)): it spins a core until its next
    try, and its tries back off towards 15 s, so a freed GPU slot sat idle for seconds (measured:
    2-3 s per hand-over after a 15 s wait). A blocked claim here sleeps until a slot is released
    (or `claim_wait_s` passes) and asks to be tried again at once. An executor that claims for
    many pool steps in one loop (multiprocess) would wait up to that long per blocked step;
    Beacon's jobs run in-process, one pool step per run.
    """

    claim_wait_s = 0.5  # longest a blocked claim sleeps before the database is asked again

    def _exclusive(self):  # pragma: no cover - each storage provides its own
        raise NotImplementedError

    def _released_marker(self) -> int | None:
        """Something that changes whenever a slot is released; None: no such signal."""
        return None

    def _signal_released(self) -> None:
        pass

    def _wait_for_release(self, seen: int | None) -> None:
        if seen is None:
            time.sleep(self.claim_wait_s)
            return
        deadline = time.monotonic() + self.claim_wait_s
        while time.monotonic() < deadline and self._released_marker() == seen:
            time.sleep(FREED_POLL_S)

    @contextmanager
    def _slots_locked(self) -> Iterator[None]:
        held = self.__dict__.setdefault("_pool_lock_held", threading.local())
        if getattr(held, "depth", 0):  # re-entrant: a locked method may call another
            held.depth += 1
            try:
                yield
            finally:
                held.depth -= 1
            return
        with self._exclusive():
            held.depth = 1
            try:
                yield
            finally:
                held.depth = 0

    def claim_concurrency_slot(self, concurrency_key, run_id, step_key, priority=None):
        seen = self._released_marker()  # read first: a release during the claim is not missed
        with self._slots_locked():
            status = super().claim_concurrency_slot(concurrency_key, run_id, step_key, priority)
        if status.is_claimed:
            return status
        self._wait_for_release(seen)
        return status.with_sleep_interval(0.0)

    def free_concurrency_slot_for_step(self, run_id, step_key):
        with self._slots_locked():
            result = super().free_concurrency_slot_for_step(run_id, step_key)
        self._signal_released()
        return result

    def free_concurrency_slots_for_run(self, run_id):
        with self._slots_locked():
            result = super().free_concurrency_slots_for_run(run_id)
        self._signal_released()
        return result

    def set_concurrency_slots(self, concurrency_key, num):
        with self._slots_locked():
            result = super().set_concurrency_slots(concurrency_key, num)
        self._signal_released()  # a raised limit frees slots too
        return result

    def initialize_concurrency_limit_to_default(self, concurrency_key):
        with self._slots_locked():
            # Runs starting together each saw no limit and each ask to create it; the second
            # INSERT would fail, and on Postgres Dagster retries inside the aborted transaction
            # (InFailedSqlTransaction), failing the run. Once one has created it, done.
            if self._has_default_limit(concurrency_key):
                return True
            return super().initialize_concurrency_limit_to_default(concurrency_key)

    def _has_default_limit(self, concurrency_key) -> bool:
        if not self.has_instance:
            return False
        default = self._instance.global_op_concurrency_default_limit
        return any(
            pool.name == concurrency_key and pool.from_default and pool.limit == default
            for pool in self.get_pool_limits()
        )


def default_event_log_dir() -> str:
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise RuntimeError(
            "DAGSTER_HOME is not set: set it to the instance folder (Beacon's event log storage "
            "lives in $DAGSTER_HOME/history/runs, as Dagster's default does)"
        )
    return os.path.join(home, "history", "runs")


class PoolSafeSqliteEventLogStorage(
    SerialisedPoolSlots, FewerSyncsRunShards, SqliteEventLogStorage
):
    # SQLite is one host: every release signals through a file, so the fallback can be long.
    claim_wait_s = 2.0

    def __init__(self, base_dir: str | None = None, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir or default_event_log_dir(), inst_data=inst_data)
        self._lock_path = os.path.join(self._base_dir, LOCK_FILE)
        self._freed_path = os.path.join(self._base_dir, FREED_FILE)

    def _released_marker(self) -> int:
        try:
            return os.stat(self._freed_path).st_size
        except FileNotFoundError:
            return 0

    def _signal_released(self) -> None:
        # O_APPEND: concurrent releases each add their byte; the size only grows.
        fd = os.open(self._freed_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, b".")
        finally:
            os.close(fd)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        # flock conflicts between separate opens, so threads of one process serialise too.
        with open(self._lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class PoolSafePostgresEventLogStorage(SerialisedPoolSlots, PostgresEventLogStorage):
    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        # A session lock on a connection of its own, held across Dagster's statements.
        with self._engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": PG_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": PG_LOCK_KEY})
