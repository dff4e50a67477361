"""An audit's files: the exports (CSV and Parquet), written all or nothing, so a failure never
leaves a half-written report.

The Parquet files hold every text exactly as stored, but for lone surrogates, which no UTF-8
file can hold (U+FFFD instead). The CSV files are for spreadsheets too, so each text cell
differs in two ways (`csv_cell`): a NUL is written as the marker [U+0000] (pandas' CSV reader
and spreadsheets end the cell there), and a cell that starts with = + - @, tab or carriage
return gets a leading single quote, so a spreadsheet shows it instead of running it as a
formula (OWASP's advice against CSV injection).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from beacon_pipelines.analysis.audit_analysis import AuditAnalysis
from beacon_pipelines.backends.receipt import UNVERIFIED
from beacon_pipelines.report.safe_text import valid_text
from beacon_pipelines.store import EXECUTION_COLUMNS

# analysis.csv: one row per (model, question); these first, then any the analysis adds.
ANALYSIS_COLUMNS = [
    "model",
    "question_id",
    "category",
    "classes",
    "refusing_regions",
    "censorship_split",
    "mean_jaccard",
    "min_jaccard",
    "least_similar_pair",
]
# answers.csv: one row per analysed answer (the final attempt of each execution): its class,
# who gave it (reviewer, judge or classifier), how sure, and why; the LLM judge's class, reason
# and status (judged, judge_failed; empty without a judge). `language` when the analysis
# detects one.
ANSWER_COLUMNS = [
    "model", "region", "question_id", "sample", "attempt", "class", "class_source",
    "confidence", "cues", "words", "classifier_class", "judge_class", "judge_reason",
    "judge_status", "language", "response_sha256",
]
# Text that may hold anything a server sent (answers, errors, its receipts).
_TEXT_COLUMNS = (
    "response", "error_message", "served_region", "error_type", "served_cloud_region",
    "served_cloud_provider", "served_task_id", "served_gpu", "model_revision", "finish_reason",
    "call_id",
)


# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PREFIX = "'"
NUL_MARKER = "[U+0000]"


class OutputDirError(OSError):
    pass


def _utf8_safe(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """Text a UTF-8 file can hold (lone surrogates become U+FFFD); missing stays missing."""
    for column in columns:
        if column in frame.columns:
            frame[column] = frame[column].map(_utf8_cell)
    return frame


def _utf8_cell(value: object) -> object:
    return valid_text(value) if isinstance(value, str | bytes) else value


def csv_cell(value: object) -> object:
    """A text cell as the CSV exports write it (see the module docstring); others as they are."""
    if not isinstance(value, str):
        return value
    value = value.replace("\x00", NUL_MARKER)
    return FORMULA_PREFIX + value if value.startswith(FORMULA_STARTS) else value


def for_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every text cell as `csv_cell` writes it."""
    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_string_dtype(frame[column].dtype):  # object or str
            frame[column] = frame[column].map(csv_cell)
    return frame


def executions_for_export(executions: pd.DataFrame, iso_times: bool = True) -> pd.DataFrame:
    """Every attempt, store columns in store order; times as ISO-8601 UTC text (CSV) or as
    UTC timestamps (Parquet)."""
    frame = executions.reindex(columns=EXECUTION_COLUMNS).copy()
    # Rows from before region verification existed were never verified.
    frame["region_verified"] = frame["region_verified"].fillna(UNVERIFIED)
    frame = _utf8_safe(frame, _TEXT_COLUMNS)
    for column in ("started_at", "finished_at"):
        times = pd.to_datetime(frame[column], unit="s", utc=True)
        frame[column] = times.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if iso_times else times
    return frame


def analysis_for_export(analysis: AuditAnalysis) -> pd.DataFrame:
    questions = analysis.questions
    known = [c for c in ANALYSIS_COLUMNS if c in questions.columns]
    extra = [c for c in questions.columns if c not in ANALYSIS_COLUMNS]
    frame = questions[known + extra].copy()
    text = [c for c in frame.columns if frame[c].dtype == object]
    return _utf8_safe(frame, text)


def answers_for_export(analysis: AuditAnalysis) -> pd.DataFrame:
    frame = analysis.answers.rename(columns={"response_class": "class"})
    frame = frame[[c for c in ANSWER_COLUMNS if c in frame.columns]].copy()
    # Cues and words are the answer's own text, a reviewer's note anything at all, and the
    # judge's reason a model's text.
    return _utf8_safe(frame, [c for c in frame.columns if frame[c].dtype == object])


def export_writers(
    executions: pd.DataFrame, analysis: AuditAnalysis
) -> dict[str, Callable[[Path], None]]:
    csv_executions = for_csv(executions_for_export(executions))
    parquet_executions = executions_for_export(executions, iso_times=False)
    table = analysis_for_export(analysis)
    csv_table = for_csv(table)
    answers = answers_for_export(analysis)
    csv_answers = for_csv(answers)
    return {
        "executions.csv": lambda p: csv_executions.to_csv(p, index=False),
        "executions.parquet": lambda p: parquet_executions.to_parquet(p, index=False),
        "analysis.csv": lambda p: csv_table.to_csv(p, index=False),
        "analysis.parquet": lambda p: table.to_parquet(p, index=False),
        "answers.csv": lambda p: csv_answers.to_csv(p, index=False),
        "answers.parquet": lambda p: answers.to_parquet(p, index=False),
    }


def write_files(
    out_dir: Path,
    writers: dict[str, Callable[[Path], None]],
    seal: Callable[[Path, list[str]], Path] | None = None,
) -> dict[str, Path]:
    """Write every file into a staging folder beside out_dir, then move them in place.
    `seal(staging, names)`, when given, writes one more file describing the others (the
    manifest), from the staged files, before any of them moves."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    except OSError as exc:
        raise OutputDirError(f"cannot write to output folder {out_dir}: {exc.strerror}") from None
    try:
        for name, write in writers.items():
            write(staging / name)
        names = list(writers)
        if seal is not None:
            names.append(seal(staging, list(writers)).name)
        written = {}
        for name in names:
            os.replace(staging / name, out_dir / name)
            written[name] = out_dir / name
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
