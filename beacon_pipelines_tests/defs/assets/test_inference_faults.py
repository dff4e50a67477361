"""The fault matrix: each fault injected into a whole `beacon audit` on a real instance.

Expected every time: the audit completes (failover serves what a region cannot), every
execution has exactly one success and nothing after it (no re-billing), the answers are those
of a fault-free audit (so the analysis is right), and the GPU cap holds.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from beacon_pipelines_tests.conftest import write_small_catalog
from beacon_pipelines_tests.support.audit_files import (
    partition_intervals,
    peak_overlap,
    read_executions,
    write_sim_config,
)
from beacon_pipelines_tests.support.beacon_cli import beacon

KEY = ["model", "region", "question_id", "sample"]


def _audit(work, catalog, sim_config: dict, *extra) -> tuple[int, str, pd.DataFrame | None]:
    sim = write_sim_config(work / "sim.yaml", **sim_config)
    result = beacon(
        ["audit", "--catalog", str(catalog), "--sim-config", str(sim), "--audit-id", "faults",
         "--out", str(work / "out"), *extra],
        cwd=work,
        home=work / "home",
    )
    exported = work / "out" / "executions.csv"
    executions = read_executions(exported) if exported.exists() else None
    return result.returncode, result.stderr, executions


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    return write_small_catalog(tmp_path_factory.mktemp("catalog") / "catalog.yaml")


@pytest.fixture(scope="module")
def fault_free(tmp_path_factory, catalog) -> pd.Series:
    """Every execution's answer in an audit without faults."""
    code, stderr, executions = _audit(tmp_path_factory.mktemp("fault-free"), catalog, {})
    assert code == 0, stderr[-3000:]
    return executions.set_index(KEY)["response"]


def _asia_failed_over_after_its_cold_start(executions: pd.DataFrame) -> None:
    asia = executions[executions["requested_region"] == "ASIA"]
    first, second = asia[asia["attempt"] == 1], asia[asia["attempt"] == 2]
    assert set(first["error_type"]) == {"cold_start_timeout"}
    assert (second["status"] == "succeeded").all() and set(second["served_region"]) == {"US"}


# fault -> (simulated backend config, CLI options, what else must hold)
FAULTS = {
    "30% transient errors": ({"faults": [{"kind": "transient", "rate": 0.3}]}, [], None),
    "malformed answers": ({"faults": [{"kind": "malformed", "rate": 0.3}]}, [], None),
    "execution timeouts": (
        {"faults": [{"kind": "timeout", "rate": 0.2}]},
        ["--execution-timeout", "1"],
        None,
    ),
    "cold start in ASIA longer than its budget": (
        {"latency": {"cold_start_by_region": {"ASIA": 3}}},
        ["--cold-start-timeout", "1"],
        _asia_failed_over_after_its_cold_start,
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.integration
def test_the_audit_completes_right_exactly_once_under_the_cap(
    fault, tmp_path, catalog, fault_free
):
    sim_config, options, also = FAULTS[fault]
    code, stderr, executions = _audit(tmp_path, catalog, sim_config, *options)
    assert code == 0, stderr[-3000:]
    assert (executions["status"] == "failed").any(), "the fault was not injected"
    succeeded = executions[executions["status"] == "succeeded"].set_index(KEY)
    assert succeeded.index.is_unique and len(succeeded) == len(fault_free)
    # Nothing was sent again after its success: the success is each execution's last attempt.
    last_attempt = executions.groupby(KEY)["attempt"].max()
    assert succeeded["attempt"].equals(last_attempt.loc[succeeded.index])
    # Failed over or not, every answer is the one the fault-free audit got for that execution.
    assert succeeded["response"].sort_index().equals(fault_free.sort_index())
    assert peak_overlap(partition_intervals(executions)) <= 3
    if also is not None:
        also(executions)
