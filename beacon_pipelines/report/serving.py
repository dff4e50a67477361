"""Where the answers were served, as the servers reported it: per model x region, the cloud
regions, model revisions and GPUs, and how many answers were verified inside their region.

Every value here was reported by a server: untrusted text, escaped wherever it is shown.
"""

from __future__ import annotations

import pandas as pd

from beacon_pipelines.backends.base import ErrorKind
from beacon_pipelines.backends.receipt import UNVERIFIED, VERIFIED_NO, VERIFIED_YES

SERVING_COLUMNS = [
    "model", "region", "answers", "verified", "unverified", "region_mismatches",
    "cloud_regions", "model_revisions", "gpus", "mismatched_cloud_regions",
]
_PROVENANCE = ("served_cloud_region", "region_verified", "model_revision", "served_gpu")


def _with_provenance(executions: pd.DataFrame) -> pd.DataFrame:
    """Rows of stores older than these columns read as not reported, hence unverified."""
    frame = executions.copy()
    for column in _PROVENANCE:
        if column not in frame.columns:
            frame[column] = None
    frame["region_verified"] = frame["region_verified"].where(
        frame["region_verified"].isin([VERIFIED_YES, VERIFIED_NO, UNVERIFIED]), UNVERIFIED
    )
    return frame


def _counted(values: pd.Series) -> str:
    """'us-east-1 (6), us-east-2 (2)': distinct reported values, most frequent first."""
    counts = values.dropna().astype(str).value_counts()
    return ", ".join(f"{value} ({n})" for value, n in counts.items())


def answers_used(executions: pd.DataFrame) -> pd.DataFrame:
    frame = _with_provenance(executions)
    return frame[frame["status"] == "succeeded"]


def mismatches(executions: pd.DataFrame) -> pd.DataFrame:
    frame = _with_provenance(executions)
    return frame[frame["error_type"] == ErrorKind.REGION_MISMATCH.value]


def verification_counts(executions: pd.DataFrame) -> dict[str, int]:
    """Answers used, by verdict, and the attempts refused as served outside their region."""
    verdicts = answers_used(executions)["region_verified"].value_counts()
    return {
        "verified": int(verdicts.get(VERIFIED_YES, 0)),
        "unverified": int(verdicts.get(UNVERIFIED, 0)),
        "region_mismatches": len(mismatches(executions)),
    }


def serving_summary(executions: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, region): what served the answers used, and the mismatches refused."""
    used, refused = answers_used(executions), mismatches(executions)
    keys = sorted(
        set(zip(used["model"], used["region"], strict=True))
        | set(zip(refused["model"], refused["region"], strict=True))
    )
    rows = []
    for model, region in keys:
        mine = used[(used["model"] == model) & (used["region"] == region)]
        refused_here = refused[(refused["model"] == model) & (refused["region"] == region)]
        rows.append(
            {
                "model": model,
                "region": region,
                "answers": len(mine),
                "verified": int((mine["region_verified"] == VERIFIED_YES).sum()),
                "unverified": int((mine["region_verified"] == UNVERIFIED).sum()),
                "region_mismatches": len(refused_here),
                "cloud_regions": _counted(mine["served_cloud_region"]),
                "model_revisions": _counted(mine["model_revision"]),
                "gpus": _counted(mine["served_gpu"]),
                "mismatched_cloud_regions": _counted(refused_here["served_cloud_region"]),
            }
        )
    return pd.DataFrame(rows, columns=SERVING_COLUMNS)
