"""`beacon audit --samples K`: K distinct executions of each question."""

from __future__ import annotations

import pytest

from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.cli.audit_runner import AuditInputError, AuditOptions, plan_audit
from beacon_pipelines.cli.main import build_parser
from beacon_pipelines.plan import MAX_EXECUTIONS, MAX_SAMPLES, build_plan


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
    assert build_parser().parse_args(["audit", "--samples", "4"]).samples == 4
    # Enough for a whole split to be evidence.
    assert build_parser().parse_args(["audit"]).samples == 5
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["audit", "--samples", "0"])
    assert exit_info.value.code == 2
    assert "--samples" in capsys.readouterr().err


class _WideCatalog:
    """Just what build_plan reads of a catalog, with as many ids as a test needs."""

    def __init__(self, models: int, regions: int, questions: int):
        self.model_ids = [f"m{i}" for i in range(models)]
        self.region_ids = [f"r{i}" for i in range(regions)]
        self.question_ids = [f"q{i}" for i in range(questions)]

    def sha256(self) -> str:
        return "0" * 64


def test_the_execution_count_is_the_number_of_expected_keys_without_listing_them():
    plan = plan_audit(AuditOptions(models=["qwen2.5-1.5b"], samples=3), load_catalog())
    assert plan.execution_count == len(plan.expected_keys()) == 3 * 8 * 3
    assert plan.size_text() == "1 models x 3 regions x 8 questions x 3 samples = 72 executions"


def test_samples_and_executions_are_bounded_and_the_message_says_the_limit():
    with pytest.raises(AuditInputError, match=r"^samples must be at most 1000, got 99999999999$"):
        plan_audit(AuditOptions(samples=99_999_999_999), load_catalog())
    assert plan_audit(AuditOptions(samples=MAX_SAMPLES), load_catalog()).samples == MAX_SAMPLES
    at_limit = build_plan(_WideCatalog(100, 100, 1000), audit_id="wide", backend="simulated")
    assert at_limit.execution_count == MAX_EXECUTIONS
    with pytest.raises(AuditInputError) as too_many:
        build_plan(_WideCatalog(100, 100, 1001), audit_id="wide", backend="simulated")
    assert str(too_many.value) == (
        "the audit would have 100 models x 100 regions x 1001 questions = 10010000 executions; "
        "at most 10,000,000 executions are allowed"
    )
