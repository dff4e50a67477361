"""Write an audit's files: all or nothing, so a failure never leaves a half-written report."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from beacon_pipelines.store import EXECUTION_COLUMNS


class OutputDirError(OSError):
    pass


def executions_for_export(executions: pd.DataFrame) -> pd.DataFrame:
    frame = executions[EXECUTION_COLUMNS].copy()
    for column in ("started_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True).dt.strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"
        )
    return frame


def write_files(out_dir: Path, writers: dict[str, Callable[[Path], None]]) -> dict[str, Path]:
    """Write every file into a staging folder beside out_dir, then move them in place."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    except OSError as exc:
        raise OutputDirError(f"cannot write to output folder {out_dir}: {exc.strerror}") from None
    try:
        for name, write in writers.items():
            write(staging / name)
        written = {}
        for name in writers:
            os.replace(staging / name, out_dir / name)
            written[name] = out_dir / name
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
