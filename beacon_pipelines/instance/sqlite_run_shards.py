"""Dagster's per-run SQLite event databases, created and written with fewer disk syncs.

Dagster's SqliteEventLogStorage keeps each run's events in a database of its own
(history/runs/<run_id>.db) next to the cross-run index (index.db), and opens a new connection
for every event it stores. Measured here for one partition run of `beacon audit`: 211
fdatasync calls, 0.8 s of the worker's 2-3 s from fork to step (0.3 s of it CPU). Most come
from two things:

- A new run's database is built statement by statement (~40 CREATE TABLE / INDEX, each
  committed through a rollback journal with its syncs): 0.3-0.9 s per run at load 8-12.
- When the last connection to a WAL database closes, SQLite checkpoints the WAL into the
  database and deletes it: with one connection per event, each event costs three syncs.

So a new run's database is a copy of a template database that Dagster itself built (its own
schema and alembic stamp, used only while its revision is the index's, so a Dagster upgrade
never gets a stale copy), and a process that writes a run's events keeps one idle connection
to that run's database and to the index until the run ends, the storage is disposed, or it
writes to more than HELD_RUNS runs. Tables, rows and layout stay Dagster's own.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from collections import OrderedDict

from dagster import DagsterEventType

# history/runs/.run-template.db: Dagster lists runs by globbing *.db, which skips dot files.
TEMPLATE_SHARD = ".run-template"
INDEX_SHARD = "index"
HELD_RUNS = 4  # a daemon or webserver writing to many runs keeps at most this many open
RUN_ENDED = frozenset(
    {DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE, DagsterEventType.RUN_CANCELED}
)
# Forked children drop their parent's connections without closing them (see _held).
_INHERITED: list = []


def alembic_revision(path: str, immutable: bool = False) -> str | None:
    """The alembic revision stamped in a SQLite database; None if it has none (or no file).
    `immutable`: a file nobody writes any more (read without locks, -wal or -shm files)."""
    if not os.path.exists(path):
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True) if immutable else (
            sqlite3.connect(path)
        )
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


class _HeldConnections:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.runs: OrderedDict[str, sqlite3.Connection] = OrderedDict()
        self.index: sqlite3.Connection | None = None


def _open_idle(path: str) -> sqlite3.Connection:
    # A read makes the connection a WAL reader of the file; it then holds no transaction, so
    # checkpoints still run, but no other connection's close is the last one.
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
    return conn


class FewerSyncsRunShards:
    """Mixin for SqliteEventLogStorage (see the module's docstring)."""

    # -- new run databases from the template -----------------------------------------------

    def run_connection(self, run_id=None):
        if run_id and run_id not in self._initialized_dbs:
            self._prepare_run_shard(run_id)
        return super().run_connection(run_id)

    def index_connection(self):
        # The index too: stamped, Dagster's check would do nothing but read the scripts.
        if INDEX_SHARD not in self._initialized_dbs and alembic_revision(
            self.path_for_shard(INDEX_SHARD)
        ):
            self._initialized_dbs.add(INDEX_SHARD)
        return super().index_connection()

    def _prepare_run_shard(self, run_id: str) -> None:
        path = self.path_for_shard(run_id)
        # Dagster's own check (_initdb) builds the schema only in a database with no alembic
        # stamp, after reading its ~90 migration scripts to name the head revision; with a
        # stamp it does nothing. A copy of the template is stamped; elsewhere one query says.
        if (not os.path.exists(path) and self._copy_template(path)) or alembic_revision(path):
            self._initialized_dbs.add(run_id)

    def _copy_template(self, path: str) -> bool:
        """True once `path` is a copy of the template."""
        template = self._usable_template()
        if template is None:
            return False  # Dagster builds the database itself, as without this mixin
        partial = f"{path}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial"
        try:
            with open(template, "rb") as source, open(partial, "wb") as target:
                target.write(source.read())
                target.flush()
                os.fsync(target.fileno())
            try:
                os.link(partial, path)  # never replaces a database another process made
            except FileExistsError:
                return False
            return True
        finally:
            if os.path.exists(partial):
                os.unlink(partial)

    def _usable_template(self) -> str | None:
        """The template's path, built by Dagster when missing or stale; None when even a new
        one is not at the index's revision (an instance waiting for `dagster instance
        migrate`)."""
        index_revision = alembic_revision(self.path_for_shard(INDEX_SHARD))
        template = self.path_for_shard(TEMPLATE_SHARD)
        if index_revision is None:
            return None
        if alembic_revision(template, immutable=True) == index_revision:
            return template
        # Built under a name of its own, then renamed: nobody copies a half-built template.
        building = f"{TEMPLATE_SHARD}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        with super().run_connection(building):
            pass
        os.replace(self.path_for_shard(building), template)
        self._initialized_dbs.discard(building)
        return template if alembic_revision(template, immutable=True) == index_revision else None

    # -- connections held open while a process writes a run's events -----------------------

    def _held(self) -> _HeldConnections:
        held = self.__dict__.get("_held_connections")
        if held is None or held.pid != os.getpid():
            if held is not None:
                # A forked child must not use, nor close, its parent's SQLite connections
                # (closing one may checkpoint a database the parent is writing); forked
                # workers end with os._exit, which finalises nothing.
                _INHERITED.append(held)
            held = self.__dict__["_held_connections"] = _HeldConnections()
        return held

    def store_event(self, event) -> None:
        super().store_event(event)
        run_id = event.run_id
        if not run_id:
            return
        held = self._held()
        with held.lock:
            if held.index is None:
                held.index = _open_idle(self.path_for_shard(INDEX_SHARD))
            if event.is_dagster_event and event.dagster_event_type in RUN_ENDED:
                conn = held.runs.pop(run_id, None)
                if conn is not None:
                    conn.close()  # the run's last event: its WAL is folded in now
                return
            if run_id in held.runs:
                held.runs.move_to_end(run_id)
                return
            held.runs[run_id] = _open_idle(self.path_for_shard(run_id))
            while len(held.runs) > HELD_RUNS:
                held.runs.popitem(last=False)[1].close()

    def dispose(self) -> None:
        held = self.__dict__.get("_held_connections")
        if held is not None and held.pid == os.getpid():
            with held.lock:
                for conn in held.runs.values():
                    conn.close()
                held.runs.clear()
                if held.index is not None:
                    held.index.close()
                    held.index = None
        super().dispose()
