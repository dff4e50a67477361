"""What bias_analysis shows in the Dagster UI: a Markdown summary and the rates as a table.

The code location imports every module under defs/ when it loads (the UI, the daemon, each run
it launches): pandas and the report are imported here only when an analysis is shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

from beacon_pipelines.analysis.audit_analysis_result import AuditAnalysis

if TYPE_CHECKING:
    import pandas as pd

_TYPES = {"b": "bool", "i": "int", "u": "int", "f": "float"}


def table_metadata(frame: pd.DataFrame) -> MetadataValue:
    import pandas as pd

    schema = TableSchema(
        columns=[
            TableColumn(name=str(c), type=_TYPES.get(frame[c].dtype.kind, "string"))
            for c in frame.columns
        ]
    )
    records = []
    for row in frame.to_dict("records"):
        values = {}
        for key, value in row.items():
            if hasattr(value, "item"):  # numpy scalar -> Python
                value = value.item()
            if isinstance(value, float) and pd.isna(value):
                value = None
            elif not isinstance(value, bool | int | float | type(None)):
                value = str(value)
            values[str(key)] = value
        records.append(TableRecord(values))
    return MetadataValue.table(records=records, schema=schema)


# Digits a figure can carry: a rate of a few hundred answers is good to 0.1 %, a similarity
# to 0.01; more digits in the UI only look precise.
_RATE_DIGITS, _SIMILARITY_DIGITS = 4, 3


def rounded_summary(summary: dict) -> dict:
    """The analysis summary for the UI: rates to 0.01 %, similarities to 0.001."""
    out = {}
    for key, value in summary.items():
        if isinstance(value, float):
            digits = _SIMILARITY_DIGITS if "similarity" in key or "jaccard" in key else _RATE_DIGITS
            value = round(value, digits)
        out[key] = value
    return out


def analysis_metadata(analysis: AuditAnalysis) -> dict[str, MetadataValue]:
    from beacon_pipelines.report.summary_markdown import summary_markdown

    return {
        "summary": MetadataValue.md(summary_markdown(analysis)),
        "rates_table": table_metadata(analysis.rates.round(_RATE_DIGITS)),
    }
