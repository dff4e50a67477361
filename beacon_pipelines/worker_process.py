"""Is a worker process still there? Used to take back what a dead worker held (a GPU slot, a
partition lease, an audit's driver) at once instead of after a timeout. Only meaningful on the
worker's own host."""

from __future__ import annotations

import os
from pathlib import Path


def process_exists(pid: int) -> bool:
    """True for a live process; False for none, or for a zombie: a SIGKILLed worker whose
    parent died too stays a zombie until init reaps it, and it holds nothing any more."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (not Linux) or gone meanwhile: os.kill said it exists
    # The state follows the command name, which is parenthesised and may itself hold ") ".
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]
