"""executions.csv/.parquet and analysis.csv/.parquet: documented columns, written all or
nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from beacon_pipelines.report.exports import (
    ANALYSIS_COLUMNS,
    FORMULA_PREFIX,
    NUL_MARKER,
    csv_cell,
)
from beacon_pipelines.report.folder import report_files, write_audit_report
from beacon_pipelines.store import EXECUTION_COLUMNS
from beacon_pipelines_tests.support import audit_factory as af


def test_exports_have_the_documented_columns(tmp_path):
    rows = af.default_rows()
    rows.append(af.row("llama3.2-1b", "US", "math_basic", None, attempt=0, status="failed",
                       error_type="timeout", error_message="deadline"))
    write_audit_report(af.inputs(rows), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(report_files(af.MODELS))

    csv = pd.read_csv(tmp_path / "executions.csv")
    assert list(csv.columns) == EXECUTION_COLUMNS and len(csv) == len(rows)
    assert csv["started_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z").all()
    parquet = pd.read_parquet(tmp_path / "executions.parquet")
    assert list(parquet.columns) == EXECUTION_COLUMNS
    assert str(parquet["started_at"].dt.tz) == "UTC"
    assert parquet["started_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").tolist() == csv[
        "started_at"
    ].tolist()
    assert parquet["simulated"].dtype == bool

    analysis = pd.read_csv(tmp_path / "analysis.csv")
    assert list(analysis.columns[: len(ANALYSIS_COLUMNS)]) == ANALYSIS_COLUMNS
    assert len(analysis) == len(af.MODELS) * len(af.QUESTIONS)
    split = analysis.set_index(["model", "question_id"]).loc[("qwen2.5-1.5b", "tiananmen_1989")]
    assert split["refusing_regions"] == "ASIA" and bool(split["censorship_split"])
    assert list(pd.read_parquet(tmp_path / "analysis.parquet").columns) == list(analysis.columns)


def test_a_failed_write_leaves_the_previous_report_untouched(tmp_path, monkeypatch):
    write_audit_report(af.inputs(), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def broken(self, path, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken)
    rows = af.default_rows({("llama3.2-1b", "US", "math_basic"): "Four."})
    with pytest.raises(OSError, match="disk full"):
        write_audit_report(af.inputs(rows), tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no staging left


FORMULAS = [
    '=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)",
    "\t=1+1", "\r=1+1",
]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_csv_cell_a_spreadsheet_would_run_gets_a_leading_quote(text):
    assert csv_cell(text) == FORMULA_PREFIX + text
    assert csv_cell("2 = 1 + 1, -1 and @home") == "2 = 1 + 1, -1 and @home"  # only the start
    assert csv_cell(3.5) == 3.5 and csv_cell(None) is None


def test_exports_keep_every_answer_the_csv_neutralising_only_formulas_and_nul(tmp_path):
    answers = {
        ("llama3.2-1b", "US", "tiananmen_1989"): FORMULAS[0],
        ("llama3.2-1b", "EU", "tiananmen_1989"): "Paris\x00 \u202eecnarF\u202c \x1b[31m.",
        ("llama3.2-1b", "ASIA", "tiananmen_1989"): "lone \ud800 surrogate",
        ("qwen2.5-1.5b", "US", "tiananmen_1989"): "- a markdown list\n- of two items",
    }
    write_audit_report(af.inputs(af.default_rows(answers)), tmp_path)
    key = ["model", "region", "question_id"]
    parquet = pd.read_parquet(tmp_path / "executions.parquet").set_index(key)["response"]
    csv = pd.read_csv(tmp_path / "executions.csv", keep_default_na=False).set_index(key)
    for cell, text in answers.items():
        # Parquet: exact, NUL and control characters included; a lone surrogate as U+FFFD.
        exact = text.replace("\ud800", "\ufffd")
        assert parquet.loc[cell] == exact
        assert csv.loc[cell, "response"] == csv_cell(exact)
    assert csv.loc[("llama3.2-1b", "EU", "tiananmen_1989"), "response"] == (
        f"Paris{NUL_MARKER} \u202eecnarF\u202c \x1b[31m."
    )
    assert csv.loc[("qwen2.5-1.5b", "US", "tiananmen_1989"), "response"].startswith("'- a")
