"""Render and write one audit's report folder: report.html, one answers page per model, the
exports and manifest.json (the sha256 of each, optionally signed), all or nothing.

The one entry point for the bias_report asset and for `beacon report`.
"""

from __future__ import annotations

from pathlib import Path

from beacon_pipelines.report.answer_pages import model_pages
from beacon_pipelines.report.exports import export_writers, write_files
from beacon_pipelines.report.html import render_report
from beacon_pipelines.report.inputs import ReportInputs
from beacon_pipelines.report.manifest import MANIFEST_NAME, write_manifest
from beacon_pipelines.report.page_parts import model_page_name

REPORT_FILES = (
    "report.html",
    "executions.csv",
    "executions.parquet",
    "analysis.csv",
    "analysis.parquet",
    "answers.csv",
    "answers.parquet",
    MANIFEST_NAME,
)  # and answers-<model>.html per model (page_parts.model_page_name)


def report_files(models) -> list[str]:
    """Every file of an audit's report folder."""
    return [*REPORT_FILES, *(model_page_name(m) for m in models)]


def write_audit_report(
    inputs: ReportInputs, out_dir: Path, signing_key: str | None = None
) -> dict[str, Path]:
    """`signing_key`: sign manifest.json with HMAC-SHA256 (the key is written nowhere)."""
    pages = {"report.html": render_report(inputs), **model_pages(inputs)}
    writers = {
        name: (lambda p, text=text: p.write_text(text, encoding="utf-8"))
        for name, text in pages.items()
    }
    writers.update(export_writers(inputs.executions, inputs.analysis))

    def seal(staging: Path, names: list[str]) -> Path:
        return write_manifest(staging, names, inputs, signing_key)

    return write_files(out_dir, writers, seal)
