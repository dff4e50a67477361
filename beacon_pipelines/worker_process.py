"""Is a worker process still there? Used to take back what a dead worker held (a GPU slot, a
partition lease) at once instead of after a timeout. Only meaningful on the worker's own host."""

from __future__ import annotations

import os


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
