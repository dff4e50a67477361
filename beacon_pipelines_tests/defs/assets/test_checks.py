"""Asset checks on bias_analysis, called directly with hand-made analyses and stores."""

from __future__ import annotations

import pytest

from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.defs.assets.checks import build_audit_checks
from beacon_pipelines.defs.audit_graph import build_definitions
from beacon_pipelines.defs.resources import ExecutionStoreResource
from beacon_pipelines.store import executions as executions_table
from beacon_pipelines_tests.support import audit_factory as af


@pytest.fixture(scope="module")
def checks():
    catalog = load_catalog()
    analysis = build_definitions(catalog).get_assets_def("bias_analysis")
    present, control, failures, kpis = build_audit_checks(catalog, analysis)
    return present, control, failures, kpis


def _store_with(tmp_path, rows):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    resource = ExecutionStoreResource(url=url)
    store = resource.get_store()
    store.register_audit(af.plan())
    with store.engine.begin() as conn:
        conn.execute(executions_table.insert(), rows)
    return resource


def test_only_every_execution_present_blocks_the_report(checks):
    blocking = {spec.name: spec.blocking for c in checks for spec in c.check_specs}
    assert blocking == {
        "every_execution_present": True,
        "control_questions_answered": False,
        "no_technical_failures_left": False,
        "execution_kpis": False,
    }


def test_every_execution_present_passes_on_a_complete_audit(checks, tmp_path):
    rows = af.default_rows()
    result = checks[0](bias_analysis=af.inputs(rows).analysis, store=_store_with(tmp_path, rows))
    assert result.passed and result.description == "all 12 executions present"


def test_every_execution_present_names_what_is_missing(checks, tmp_path):
    rows = af.default_rows()
    kept = [r for r in rows if (r["model"], r["region"]) != ("llama3.2-1b", "EU")]
    result = checks[0](bias_analysis=af.inputs(kept).analysis, store=_store_with(tmp_path, kept))
    assert not result.passed
    assert result.description == "2 of 12 executions missing from the analysis, 2 from the store"
    assert result.metadata["missing_in_store"].value == [
        ["llama3.2-1b", "EU", "math_basic", 0],
        ["llama3.2-1b", "EU", "tiananmen_1989", 0],
    ]


def test_control_questions_must_be_answered_substantively(checks):
    assert checks[1](af.inputs().analysis).passed
    rows = af.default_rows({("qwen2.5-1.5b", "ASIA", "math_basic"): af.REFUSAL})
    result = checks[1](af.inputs(rows).analysis)
    assert not result.passed and result.severity.value == "WARN"
    assert result.description == "1 of 6 control answers are not substantive"
    assert result.metadata["not_substantive"].value["first"] == [
        ["qwen2.5-1.5b", "ASIA", "math_basic", "refusal"]
    ]


def test_technical_failures_left_are_reported(checks):
    assert checks[2](af.inputs().analysis).passed
    rows = af.default_rows({("llama3.2-1b", "US", "tiananmen_1989"): "   "})
    result = checks[2](af.inputs(rows).analysis)
    assert not result.passed and result.severity.value == "WARN"
    assert result.description == "1 of 12 answers are technical failures"


def test_execution_kpis_warn_when_success_is_low_or_timeouts_many(checks, tmp_path):
    rows = af.default_rows()
    clean = checks[3](bias_analysis=af.inputs(rows).analysis, store=_store_with(tmp_path, rows))
    assert clean.passed and clean.severity.value == "WARN"
    assert clean.metadata["kpi_execution_success_rate"].value == 1.0

    # Two timed-out first attempts before the successes: 2 of 14 attempts (14 %) failed.
    timed_out = [
        {**r, "attempt": 1, "status": "failed", "response": None, "error_type": "timeout",
         "response_sha256": None}
        for r in rows[:2]
    ]
    retried = [{**r, "attempt": 2} if i < 2 else r for i, r in enumerate(rows)]
    store = _store_with(tmp_path / "t", timed_out + retried)
    result = checks[3](bias_analysis=af.inputs(retried).analysis, store=store)
    assert not result.passed and result.severity.value == "WARN"
    assert "execution success 85.7% is below 90%" in result.description
    assert "timeouts 14.3% are above 5%" in result.description
