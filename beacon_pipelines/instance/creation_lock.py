"""One process at a time opens a Dagster instance for the first time.

Dagster creates an instance's SQLite storages (runs, event log, schedules) and stamps their
schema version on first open, with no lock of its own. Two `beacon audit` started at once on a
new $DAGSTER_HOME failed with `table runs already exists` or a duplicate `alembic_version` row,
and the latter left the home with two schema heads: every later open failed. Measured here:
2 of 4 processes failed in each of 3 tries.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def instance_creation_lock(home: Path) -> Iterator[None]:
    """Held while opening (and so maybe creating) the instance in `home`.

    The lock is an flock on the home folder itself, not on a lock file: nothing is written, so
    an audit refused while opening the instance leaves the folder as it found it. flock covers
    processes on this host, which is where SQLite storage lives.
    """
    fd = os.open(home, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
