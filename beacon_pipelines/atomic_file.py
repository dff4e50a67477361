"""Files written whole or not at all: what a user already has is never half-overwritten."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """`write(partial)` a file beside `path`, then rename it over `path`; on any error the
    partial file goes and `path` is as it was. The partial's name is this process's own, so two
    writers of one path never share it."""
    partial = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
