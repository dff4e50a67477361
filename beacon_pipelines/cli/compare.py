"""`beacon compare AUDIT_A AUDIT_B --out DIR`: what changed from one audit to another, per
model x region x question, and whether each censorship change is more than chance."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_arguments(compare: argparse.ArgumentParser) -> None:
    compare.add_argument("audit_a", metavar="AUDIT_A", help="the earlier audit (A)")
    compare.add_argument("audit_b", metavar="AUDIT_B", help="the later audit (B)")
    compare.add_argument("--out", type=Path, required=True, help="folder for the comparison")
    compare.add_argument(
        "--catalog", type=Path,
        help="catalog YAML for question categories and texts (default: the packaged one)",
    )


def shared_judge(judges):
    """The LLM judge both audits were classified by, or None: a class change between two
    audits means something only when one classifier (or one judge and prompt) decided both."""
    if judges[0] is not None and judges[1] is not None and judges[0].key == judges[1].key:
        return judges[0]
    return None


def _compared(store, plan, catalog, judge):
    from beacon_pipelines.analysis.audit_analysis import AnalysisOptions, analyze_audit
    from beacon_pipelines.analysis.audit_comparison import ComparedAudit
    from beacon_pipelines.audit_judgements import audit_judgements

    analysis = analyze_audit(
        plan.audit_id,
        store.executions_frame(plan.audit_id),
        {q.id: q.category for q in catalog.questions},
        question_texts={q.id: q.text for q in catalog.questions},
        options=AnalysisOptions(
            sensitive=catalog.sensitive_by_question(),
            judgements=None if judge is None else audit_judgements(store, plan.audit_id, judge),
        ),
        region_order=list(plan.regions),
    )
    return ComparedAudit(
        audit_id=plan.audit_id, models=plan.models, regions=plan.regions,
        questions=plan.questions, question_hashes=store.question_hashes(plan.audit_id),
        answers=analysis.answers, pairs=analysis.pairs,
    )


def run(args) -> int:
    import beacon_pipelines
    from beacon_pipelines.analysis.audit_comparison import compare_two_audits
    from beacon_pipelines.analysis.similarity_choice import SimilaritySettingError
    from beacon_pipelines.catalog import load_catalog
    from beacon_pipelines.cli.reading import existing_store_url
    from beacon_pipelines.instance.errors import InstanceUnavailableError
    from beacon_pipelines.plan import AuditIdError, check_audit_id
    from beacon_pipelines.report.comparison_page import write_comparison
    from beacon_pipelines.report.exports import OutputDirError
    from beacon_pipelines.report.stored_audit import (
        IncompleteAuditError,
        UnknownAuditError,
        complete_plan,
    )
    from beacon_pipelines.store import ExecutionStore, StoreError
    from beacon_pipelines.yaml_config import ConfigFileError

    try:
        for audit_id in (args.audit_a, args.audit_b):
            check_audit_id(audit_id)
        catalog = load_catalog(args.catalog)
        store = ExecutionStore(existing_store_url(args.audit_a))
        plans = [complete_plan(store, audit_id) for audit_id in (args.audit_a, args.audit_b)]
        judges = [store.audit_judge(p.audit_id) for p in plans]
        judge = shared_judge(judges)
        comparison = compare_two_audits(*(_compared(store, p, catalog, judge) for p in plans))
        written = write_comparison(comparison, args.out.resolve(), beacon_pipelines.__version__)
        store.dispose()
    except (AuditIdError, ConfigFileError, UnknownAuditError, StoreError, OutputDirError,
            InstanceUnavailableError, SimilaritySettingError) as exc:
        print(f"beacon compare: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except IncompleteAuditError as exc:
        print(f"beacon compare: {exc}", file=sys.stderr)
        return EXIT_FAILED
    rows = comparison.rows
    print(
        f"{len(rows)} model x region x question rows compared on "
        f"{len(comparison.shared['questions'])} shared question(s): "
        f"{int(rows['class_changed'].sum())} class change(s), "
        f"{int(rows['significant'].sum())} significant censorship change(s)"
    )
    for side, only in ((args.audit_a, comparison.only_in_a), (args.audit_b, comparison.only_in_b)):
        listed = "; ".join(f"{k} {', '.join(v)}" for k, v in only.items() if v)
        if listed:
            print(f"only in {side}: {listed}")
    if comparison.reworded:
        print(f"same id, other text (not compared): {', '.join(comparison.reworded)}")
    if judge is not None:
        print(f"classes: LLM judge {judge.model} (prompt sha256 {judge.prompt_sha256[:12]}) "
              "for both audits")
    elif any(j is not None for j in judges):
        print("classes: the classifier's for both audits (they were not judged by the same "
              "judge and prompt, so the judge's classes would not compare)")
    print(f"comparison: {written['comparison.html']}")
    return EXIT_OK
