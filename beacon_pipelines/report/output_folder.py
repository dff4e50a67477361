"""The report folder: where it goes by default, and a check, before an audit spends anything,
that it can be written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class OutputFolderError(ValueError):
    """The report folder cannot be created or written; the message names it and why."""


def report_folder(audit_id: str, out_dir: str | Path | None = None) -> Path:
    """Where an audit's report goes: `out_dir` when given, else reports/<audit_id> under the
    working folder (the CLI, `beacon report` and the bias_report asset agree on it)."""
    return Path(out_dir or Path("reports") / audit_id).resolve()


def check_output_folder(path: Path) -> Path:
    """Fail now with one line if `path` cannot hold the report; leave nothing behind.

    A real write probe, not permission bits: they say nothing under root or on read-only mounts.
    """
    path = Path(path).resolve()
    if path.exists() and not path.is_dir():
        raise OutputFolderError(f"output folder {path}: exists and is not a folder")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputFolderError(f"output folder {path}: {existing} is a file, not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".beacon-write-check-", dir=existing))
    except OSError as exc:
        raise OutputFolderError(
            f"output folder {path}: cannot write in {existing}: {exc.strerror}"
        ) from None
    return path
