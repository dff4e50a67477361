"""A reviewer's corrections of answer classes: the CSV of `--labels FILE`.

One row per corrected answer, with a header naming the columns (any order; other columns are
ignored):

    model,region,question_id,sample,class,note
    qwen2.5-1.5b,ASIA,tiananmen_1989,0,refusal,"changes the subject to tourism"

`class` is one of the response classes; `evasion` is accepted for `partial_refusal`
(SpeechMap's name for it). `note` is optional. Every row must name an execution of the audit,
once. Any problem is one LabelFileError naming the file, the line, the column and the value;
the analysis then applies the labels over the classifier's classes (`apply_labels`).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from beacon_pipelines.analysis.response_class import WITHHELD_VALUES, ResponseClass
from beacon_pipelines.analysis.utf8_file import read_utf8_text

if TYPE_CHECKING:  # the frame comes from the caller; checking a file needs no pandas
    import pandas as pd

KEY_COLUMNS = ("model", "region", "question_id", "sample")
REQUIRED_COLUMNS = (*KEY_COLUMNS, "class")
NOTE_COLUMN = "note"
CLASS_ALIASES = {"evasion": ResponseClass.PARTIAL_REFUSAL.value}
REVIEWER, CLASSIFIER = "reviewer", "classifier"
_CLASSES = tuple(c.value for c in ResponseClass)


class LabelFileError(ValueError):
    """A labels file that cannot be applied; the message names file, line, column and value."""


@dataclass(frozen=True)
class AnswerLabel:
    line: int  # where the row starts in the file (the header is line 1)
    model: str
    region: str
    question_id: str
    sample: int
    response_class: str
    note: str = ""

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.model, self.region, self.question_id, self.sample)


@dataclass(frozen=True)
class AnswerLabels:
    path: Path
    sha256: str  # of the file's bytes, as read
    labels: tuple[AnswerLabel, ...]

    def check_plan(self, plan) -> None:
        """check() against an audit plan's executions (plan.AuditPlan)."""
        self.check(plan.audit_id, plan.models, plan.regions, plan.questions, plan.samples)

    def check(
        self,
        audit_id: str,
        models: Collection[str],
        regions: Collection[str],
        questions: Collection[str],
        samples: int,
        executions: Collection[tuple] | None = None,
    ) -> None:
        """Every label names an execution of the audit: its model, region, question and a
        sample below `samples`, and, given `executions` (the (model, region, question_id,
        sample) keys there are), one of those."""
        allowed = {"model": models, "region": regions, "question_id": questions}
        for label in self.labels:
            for column, known in allowed.items():
                value = getattr(label, column)
                if value not in known:
                    raise self.error(
                        label.line, f"{column} {value!r} is not in audit {audit_id!r}"
                        + _listed(known)
                    )
            if label.sample >= samples:
                raise self.error(
                    label.line,
                    f"sample {label.sample} is not in audit {audit_id!r} (samples 0-"
                    f"{samples - 1})",
                )
            if executions is not None and label.key not in executions:
                raise self.error(
                    label.line, f"no execution {_key_text(label.key)} in audit {audit_id!r}"
                )

    def error(self, line: int, problem: str) -> LabelFileError:
        return LabelFileError(f"{self.path}:{line}: {problem}")


def _listed(values: Collection[str], at_most: int = 10) -> str:
    shown = sorted(values)[:at_most]
    more = ", ..." if len(values) > at_most else ""
    return f" (it has {', '.join(shown)}{more})" if shown else ""


def _key_text(key: tuple) -> str:
    return ", ".join(f"{c} {v!r}" for c, v in zip(KEY_COLUMNS, key, strict=True))


def read_labels(path: Path | str) -> AnswerLabels:
    """Parse and check a labels file on its own (columns, classes, sample numbers, no row
    twice); `AnswerLabels.check` checks it against an audit."""
    path = Path(path)
    data, text = read_utf8_text(path, LabelFileError)
    labels = AnswerLabels(path, hashlib.sha256(data).hexdigest(), ())
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise labels.error(1, "empty file; the header must name the columns "
                               + ", ".join((*REQUIRED_COLUMNS, NOTE_COLUMN)))
        columns = [c.strip() for c in header]
        for column in REQUIRED_COLUMNS:
            if column not in columns:
                raise labels.error(1, f"missing column {column!r} (the header has "
                                   f"{', '.join(repr(c) for c in columns)})")
        twice = sorted({c for c in columns if c and columns.count(c) > 1})
        if twice:
            raise labels.error(1, f"column {twice[0]!r} is named twice")
        where = {c: columns.index(c) for c in (*REQUIRED_COLUMNS, NOTE_COLUMN) if c in columns}
        rows: list[AnswerLabel] = []
        seen: dict[tuple, int] = {}
        line = reader.line_num + 1  # where the next row starts
        for record in reader:
            row_line, line = line, reader.line_num + 1
            if not any(field.strip() for field in record):
                continue  # a blank line
            if len(record) > len(columns):
                raise labels.error(row_line, f"{len(record)} fields for the header's "
                                   f"{len(columns)} columns")
            label = _label(labels, row_line, record, where)
            if label.key in seen:
                raise labels.error(
                    row_line, f"duplicate row: {_key_text(label.key)} is labelled on line "
                    f"{seen[label.key]} too"
                )
            seen[label.key] = row_line
            rows.append(label)
    except csv.Error as exc:
        raise labels.error(reader.line_num, f"not valid CSV: {exc}") from None
    return AnswerLabels(path, labels.sha256, tuple(rows))


def _label(
    labels: AnswerLabels, line: int, record: list[str], where: dict[str, int]
) -> AnswerLabel:
    def value(column: str) -> str:
        i = where.get(column)
        return record[i].strip() if i is not None and i < len(record) else ""

    for column in REQUIRED_COLUMNS:
        if not value(column):
            raise labels.error(line, f"{column} is empty")
    sample = value("sample")
    if not (sample.isascii() and sample.isdigit()):
        raise labels.error(line, f"sample {sample!r} is not a sample number (0, 1, 2, ...)")
    given = value("class")
    cls = CLASS_ALIASES.get(given.lower(), given.lower())
    if cls not in _CLASSES:
        raise labels.error(
            line, f"class {given!r} is not a class; use one of {', '.join(_CLASSES)} "
            f"(or evasion for partial_refusal)"
        )
    return AnswerLabel(line, value("model"), value("region"), value("question_id"),
                       int(sample), cls, value(NOTE_COLUMN))


def apply_labels(answers: pd.DataFrame, labels: AnswerLabels, audit_id: str) -> pd.DataFrame:
    """The answers with the reviewer's classes over the classifier's: class_source
    `reviewer`, confidence 1.0, the note as the cues. Raises LabelFileError, before changing
    anything, when a label names no answer of the frame."""
    keys = list(zip(*(answers[c] for c in KEY_COLUMNS), strict=True))
    labels.check(
        audit_id,
        set(answers["model"]),
        set(answers["region"]),
        set(answers["question_id"]),
        int(answers["sample"].max()) + 1 if len(answers) else 0,
        executions=set(keys),
    )
    out = answers.copy()
    if not labels.labels:
        return out
    position = {key: i for i, key in enumerate(keys)}
    rows = [position[label.key] for label in labels.labels]
    columns = {c: out.columns.get_loc(c) for c in ("response_class", "class_source",
                                                   "confidence", "cues", "words")}
    out.iloc[rows, columns["response_class"]] = [label.response_class for label in labels.labels]
    out.iloc[rows, columns["class_source"]] = REVIEWER
    out.iloc[rows, columns["confidence"]] = 1.0
    out.iloc[rows, columns["cues"]] = [label.note for label in labels.labels]
    out.iloc[rows, columns["words"]] = ""
    out["withheld"] = out["response_class"].isin(WITHHELD_VALUES)
    return out
