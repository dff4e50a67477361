"""Dagster's SQLite event log storage with the pool's slot bookkeeping made atomic.

The GPU cap is a Dagster pool. Dagster claims a slot in several autocommit statements (count the
free slots, queue the step as assigned, pick a free slot row, write the claim), and SQLite ignores
`SELECT ... FOR UPDATE`, so two processes claiming at once can both be assigned the one free slot
and both run: measured here, 4 inference steps in flight under a limit of 3 with 9 partition
runs. Holding an exclusive file lock across each claim and release makes them serial, which is
all that is missing; everything else is Dagster's own storage, files and layout unchanged.

Selected in dagster.yaml:

    event_log_storage:
      module: beacon_pipelines.pool_safe_storage
      class: PoolSafeSqliteEventLogStorage
      config: {}        # base_dir defaults to Dagster's: $DAGSTER_HOME/history/runs
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import Field, StringSource
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._serdes import ConfigurableClassData

LOCK_FILE = ".pool-slots.lock"


def default_event_log_dir() -> str:
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise RuntimeError(
            "DAGSTER_HOME is not set: set it to the instance folder (Beacon's event log storage "
            "lives in $DAGSTER_HOME/history/runs, as Dagster's default does)"
        )
    return os.path.join(home, "history", "runs")


class PoolSafeSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str | None = None, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir or default_event_log_dir(), inst_data=inst_data)
        self._lock_path = os.path.join(self._base_dir, LOCK_FILE)
        self._held = threading.local()  # re-entrant: a locked method may call another

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _slots_locked(self) -> Iterator[None]:
        if getattr(self._held, "depth", 0):
            self._held.depth += 1
            try:
                yield
            finally:
                self._held.depth -= 1
            return
        # flock conflicts between separate opens, so threads of one process serialise too.
        with open(self._lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            self._held.depth = 1
            try:
                yield
            finally:
                self._held.depth = 0
                fcntl.flock(handle, fcntl.LOCK_UN)

    def claim_concurrency_slot(self, concurrency_key, run_id, step_key, priority=None):
        with self._slots_locked():
            return super().claim_concurrency_slot(concurrency_key, run_id, step_key, priority)

    def free_concurrency_slot_for_step(self, run_id, step_key):
        with self._slots_locked():
            return super().free_concurrency_slot_for_step(run_id, step_key)

    def free_concurrency_slots_for_run(self, run_id):
        with self._slots_locked():
            return super().free_concurrency_slots_for_run(run_id)

    def set_concurrency_slots(self, concurrency_key, num):
        with self._slots_locked():
            return super().set_concurrency_slots(concurrency_key, num)

    def initialize_concurrency_limit_to_default(self, concurrency_key):
        with self._slots_locked():
            return super().initialize_concurrency_limit_to_default(concurrency_key)
