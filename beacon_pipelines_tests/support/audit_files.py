"""Reading what an audit left behind: partition intervals, overlap, sim configs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml


def write_sim_config(path: Path, **config) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def read_executions(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    for column in ("started_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("int64") / 1e9
    return frame


def partition_intervals(executions: pd.DataFrame) -> pd.DataFrame:
    """One row per backend call (one attempt of one partition in one run): from its first
    answer's start to its last answer's end."""
    return (
        executions.groupby(["model", "region", "run_id", "attempt"], dropna=False)
        .agg(start=("started_at", "min"), end=("finished_at", "max"))
        .reset_index()
        .sort_values("start")
    )


def peak_overlap(intervals: pd.DataFrame) -> int:
    """Most intervals open at once; one ending as another starts does not overlap."""
    events = sorted(
        [(end, -1) for end in intervals["end"]] + [(start, 1) for start in intervals["start"]]
    )
    open_now = peak = 0
    for _, delta in events:
        open_now += delta
        peak = max(peak, open_now)
    return peak
