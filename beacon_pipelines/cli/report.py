"""`beacon report AUDIT_ID`: re-render an audit's report folder from the execution store.

The store is the record: the analysis is recomputed from it with the current code and the
files are written all or nothing, exactly as the bias_report asset writes them.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import beacon_pipelines
from beacon_pipelines.analysis.answer_labels import read_labels
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.plan import check_audit_id
from beacon_pipelines.report.output_folder import report_folder
from beacon_pipelines.store import ExecutionStore
from beacon_pipelines.yaml_config import ConfigFileError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass
class Rerendered:
    written: dict[str, Path]
    warnings: list[str] = field(default_factory=list)


def rerender_report(
    audit_id: str,
    out_dir: Path | None = None,
    catalog_path: Path | None = None,
    store_url: str | None = None,
    questions_files: list[Path] | None = None,
    labels_path: Path | None = None,
) -> Rerendered:
    # The analysis and the report (pandas, numpy, scipy) are imported when a report is
    # re-rendered, not by every `beacon` command (main.py imports each subcommand's module).
    from beacon_pipelines.audit_judgements import audit_judgements
    from beacon_pipelines.cli.reading import existing_store_url
    from beacon_pipelines.report.folder import write_audit_report
    from beacon_pipelines.report.inputs import report_inputs
    from beacon_pipelines.report.signing_key import SIGNING_KEY_ENV
    from beacon_pipelines.report.stored_audit import (
        analyse_stored_audit,
        complete_plan,
        stored_trend,
    )

    check_audit_id(audit_id)
    catalog = load_catalog(catalog_path, questions_files or None)
    # The file on its own first: a bad one is refused before the store is opened.
    labels = read_labels(labels_path) if labels_path is not None else None
    if store_url is None:
        store_url = existing_store_url(audit_id)
    store = ExecutionStore(store_url)
    try:
        plan = complete_plan(store, audit_id)
        # The judgements of the judge the audit was run with (store.audit_judge), if any.
        analysed = analyse_stored_audit(
            store, plan, catalog, labels, judgements=audit_judgements(store, audit_id)
        )
        trend = stored_trend(store, analysed.plan, analysis=analysed.analysis,
                             catalog=catalog)
        display_url = store.display_url
    finally:
        store.dispose()
    plan, executions, analysis = analysed.plan, analysed.executions, analysed.analysis

    warnings = []
    provenance = {
        "report written by": "beacon report (re-rendered from the execution store)",
        "execution store": display_url,
    }
    if plan.catalog_sha256 != catalog.sha256():
        note = (
            f"the catalog used for question texts and home regions (sha256 {catalog.sha256()}) "
            f"is not the one the audit ran with ({plan.catalog_sha256})"
        )
        warnings.append(note)
        provenance["catalog note"] = note
    inputs = report_inputs(
        catalog, plan, analysis, executions, beacon_pipelines.__version__, provenance, trend=trend
    )
    target = report_folder(audit_id, out_dir)
    # Outside Dagster the key comes straight from the environment, and goes nowhere else.
    signing_key = os.environ.get(SIGNING_KEY_ENV) or None
    return Rerendered(write_audit_report(inputs, target, signing_key), warnings)


def add_arguments(report: argparse.ArgumentParser) -> None:
    report.add_argument("audit_id", metavar="AUDIT_ID")
    report.add_argument("--out", type=Path, help="output folder (default: reports/<audit_id>)")
    report.add_argument("--catalog", type=Path, help="catalog YAML (default: the packaged one)")
    report.add_argument(
        "--questions-file", type=Path, action="append", dest="questions_files", metavar="FILE",
        help="the question files the audit was run with (--questions-file of beacon audit)",
    )
    report.add_argument(
        "--labels", type=Path, metavar="FILE",
        help="a reviewer's classes of answers (CSV: model,region,question_id,sample,class,note) "
        "applied over the classifier's",
    )

def run(args) -> int:
    from beacon_pipelines.analysis.answer_labels import LabelFileError
    from beacon_pipelines.analysis.similarity_choice import SimilaritySettingError
    from beacon_pipelines.instance.errors import InstanceUnavailableError
    from beacon_pipelines.plan import AuditIdError
    from beacon_pipelines.report.exports import OutputDirError
    from beacon_pipelines.report.stored_audit import IncompleteAuditError, UnknownAuditError
    from beacon_pipelines.store import StoreError

    try:
        done = rerender_report(args.audit_id, out_dir=args.out, catalog_path=args.catalog,
                               questions_files=args.questions_files, labels_path=args.labels)
    except (
        UnknownAuditError, AuditIdError, ConfigFileError, StoreError, OutputDirError,
        SimilaritySettingError, InstanceUnavailableError, LabelFileError,
    ) as exc:
        print(f"beacon report: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except IncompleteAuditError as exc:
        print(f"beacon report: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for warning in done.warnings:
        print(f"beacon report: warning: {warning}", file=sys.stderr)
    print(f"report: {done.written['report.html']}")
    return EXIT_OK


