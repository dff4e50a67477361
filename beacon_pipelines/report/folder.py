"""Render and write one audit's report folder: report.html plus the exports, all or nothing.

The one entry point for the bias_report asset and for `beacon report`.
"""

from __future__ import annotations

from pathlib import Path

from beacon_pipelines.report.exports import export_writers, write_files
from beacon_pipelines.report.html import render_report
from beacon_pipelines.report.inputs import ReportInputs

REPORT_FILES = (
    "report.html",
    "executions.csv",
    "executions.parquet",
    "analysis.csv",
    "analysis.parquet",
)


def write_audit_report(inputs: ReportInputs, out_dir: Path) -> dict[str, Path]:
    page = render_report(inputs)
    writers = {"report.html": lambda p: p.write_text(page, encoding="utf-8")}
    writers.update(export_writers(inputs.executions, inputs.analysis))
    return write_files(out_dir, writers)
