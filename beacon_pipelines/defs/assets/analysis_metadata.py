"""What bias_analysis shows in the Dagster UI: a Markdown summary and the rates as a table."""

import pandas as pd
from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

from beacon_pipelines.analysis.audit_analysis import AuditAnalysis
from beacon_pipelines.report.summary_markdown import summary_markdown

_TYPES = {"b": "bool", "i": "int", "u": "int", "f": "float"}


def table_metadata(frame: pd.DataFrame) -> MetadataValue:
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


def analysis_metadata(analysis: AuditAnalysis) -> dict[str, MetadataValue]:
    return {
        "summary": MetadataValue.md(summary_markdown(analysis)),
        "rates_table": table_metadata(analysis.rates),
    }
