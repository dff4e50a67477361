"""Render and write one audit's report folder: report.html, the exports and manifest.json
(the sha256 of each, optionally signed), all or nothing.

The one entry point for the bias_report asset and for `beacon report`.
"""

from __future__ import annotations

from pathlib import Path

from beacon_pipelines.report.exports import export_writers, write_files
from beacon_pipelines.report.html import render_report
from beacon_pipelines.report.inputs import ReportInputs
from beacon_pipelines.report.manifest import MANIFEST_NAME, write_manifest

REPORT_FILES = (
    "report.html",
    "executions.csv",
    "executions.parquet",
    "analysis.csv",
    "analysis.parquet",
    MANIFEST_NAME,
)


def write_audit_report(
    inputs: ReportInputs, out_dir: Path, signing_key: str | None = None
) -> dict[str, Path]:
    """`signing_key`: sign manifest.json with HMAC-SHA256 (the key is written nowhere)."""
    page = render_report(inputs)
    writers = {"report.html": lambda p: p.write_text(page, encoding="utf-8")}
    writers.update(export_writers(inputs.executions, inputs.analysis))

    def seal(staging: Path, names: list[str]) -> Path:
        return write_manifest(staging, names, inputs, signing_key)

    return write_files(out_dir, writers, seal)
