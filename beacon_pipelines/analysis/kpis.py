"""How well an audit ran (not what it found): success, retries, failovers, timeouts, latency,
GPU time and makespan, from the execution store's rows (one per attempt).

Per audit for `bias_analysis` and `beacon audits --json`, and pooled across audits. An audit
whose calls mostly failed or timed out completes in the end (retries, failover) but cost more
and may have been answered elsewhere than asked: these numbers say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from beacon_pipelines.analysis.kpi_bounds import MAX_TIMEOUT_RATE, MIN_SUCCESS_RATE

TIMEOUT_ERRORS = ("timeout", "cold_start_timeout")
EXECUTION_KEY = ["audit_id", "model", "region", "question_id", "sample"]
# One backend call: one attempt of one partition in one run (a batch of its questions).
CALL_KEY = ["audit_id", "run_id", "model", "region", "attempt"]


@dataclass(frozen=True)
class ExecutionKpis:
    audits: int
    attempts: int
    executions: int  # distinct (model, region, question, sample) attempted
    execution_success_rate: float  # succeeded attempts / attempts
    retry_rate: float  # executions that needed more than one attempt / executions
    failover_rate: float  # succeeded executions served outside their region / succeeded ones
    timeout_rate: float  # attempts that timed out (execution or cold start) / attempts
    gpu_seconds: float  # per backend call, first answer's start to last answer's end, summed
    makespan_s: float  # first start to last end of the audit (across audits: their mean)
    # served region -> {"p50_s", "p95_s", "n"} over succeeded attempts
    latency_by_region: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)

    def warnings(self) -> list[str]:
        """What falls short of the thresholds, in words; empty when nothing does."""
        out = []
        if self.attempts and self.execution_success_rate < MIN_SUCCESS_RATE:
            out.append(
                f"execution success {self.execution_success_rate:.1%} is below "
                f"{MIN_SUCCESS_RATE:.0%} ({self.attempts} attempts)"
            )
        if self.timeout_rate > MAX_TIMEOUT_RATE:
            out.append(
                f"timeouts {self.timeout_rate:.1%} are above {MAX_TIMEOUT_RATE:.0%} of "
                f"{self.attempts} attempts"
            )
        return out


def _rate(part: float, whole: float) -> float:
    return float(part) / float(whole) if whole else 0.0


def _latency_by_region(succeeded: pd.DataFrame) -> dict[str, dict[str, float]]:
    out = {}
    for region, group in succeeded.groupby("served_region", sort=True):
        latencies = group["latency_s"].astype(float).to_numpy()
        out[str(region)] = {
            "p50_s": round(float(np.percentile(latencies, 50)), 3),
            "p95_s": round(float(np.percentile(latencies, 95)), 3),
            "n": int(len(latencies)),
        }
    return out


def _makespans(executions: pd.DataFrame) -> pd.Series:
    spans = executions.groupby("audit_id")
    return spans["finished_at"].max() - spans["started_at"].min()


def execution_kpis(executions: pd.DataFrame) -> ExecutionKpis:
    """KPIs of the attempts given: one audit's, or several audits' (pooled)."""
    if executions.empty:
        return ExecutionKpis(0, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    ok = executions["status"].eq("succeeded")
    attempts_per_execution = executions.groupby(EXECUTION_KEY, dropna=False).size()
    succeeded = executions[ok]
    served_elsewhere = succeeded["served_region"].notna() & (
        succeeded["served_region"] != succeeded["requested_region"]
    )
    calls = executions.groupby(CALL_KEY, dropna=False).agg(
        start=("started_at", "min"), end=("finished_at", "max")
    )
    return ExecutionKpis(
        audits=int(executions["audit_id"].nunique()),
        attempts=int(len(executions)),
        executions=int(len(attempts_per_execution)),
        execution_success_rate=_rate(ok.sum(), len(executions)),
        retry_rate=_rate((attempts_per_execution > 1).sum(), len(attempts_per_execution)),
        failover_rate=_rate(served_elsewhere.sum(), len(succeeded)),
        timeout_rate=_rate(executions["error_type"].isin(TIMEOUT_ERRORS).sum(), len(executions)),
        gpu_seconds=round(float((calls["end"] - calls["start"]).clip(lower=0).sum()), 3),
        makespan_s=round(float(_makespans(executions).mean()), 3),
        latency_by_region=_latency_by_region(succeeded),
    )


def kpis_across(frames: Iterable[pd.DataFrame]) -> ExecutionKpis:
    """Pooled over several audits' attempts: rates over every attempt, GPU-seconds summed,
    makespan the mean of the audits'."""
    frames = [f for f in frames if not f.empty]
    return execution_kpis(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame())


def kpi_metadata(kpis: ExecutionKpis, prefix: str = "kpi_") -> dict[str, float | int]:
    """Flat numbers for Dagster metadata (plots over materializations); latency goes apart."""
    values = kpis.as_dict()
    values.pop("latency_by_region")
    return {f"{prefix}{name}": value for name, value in values.items()}
