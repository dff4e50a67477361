"""`beacon audit --samples K`: K distinct executions of each question."""

from __future__ import annotations

import pytest

from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.cli.audit_runner import AuditInputError, AuditOptions, plan_audit
from beacon_pipelines.cli.main import _parser


def test_samples_multiply_the_expected_executions():
    catalog = load_catalog()
    plan = plan_audit(
        AuditOptions(models=["qwen2.5-1.5b"], questions=["math_basic"], samples=3), catalog
    )
    assert plan.samples == 3
    assert {k[3] for k in plan.expected_keys()} == {0, 1, 2}
    assert len(plan.expected_keys()) == 3 * len(catalog.region_ids)


def test_samples_must_be_positive():
    with pytest.raises(AuditInputError, match="samples"):
        plan_audit(AuditOptions(samples=0), load_catalog())


def test_cli_passes_samples_and_refuses_zero(capsys):
    assert _parser().parse_args(["audit", "--samples", "4"]).samples == 4
    assert _parser().parse_args(["audit"]).samples == 1
    with pytest.raises(SystemExit) as exit_info:
        _parser().parse_args(["audit", "--samples", "0"])
    assert exit_info.value.code == 2
    assert "--samples" in capsys.readouterr().err
