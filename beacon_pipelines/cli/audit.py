"""`beacon audit`: run a whole audit through the Dagster instance (or --dry-run it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from beacon_pipelines.backends.batches import DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE
from beacon_pipelines.backends.registry import BACKEND_NAMES
from beacon_pipelines.cli.arguments import csv_list, positive_float, positive_int
from beacon_pipelines.cli.judge_options import (
    add_judge_arguments,
    conflicting_judge_option,
    judge_settings,
)
from beacon_pipelines.yaml_config import ConfigFileError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_CANCELLED = 130  # as a shell reports a command stopped by Ctrl-C
MAX_LISTED_MISSING = 10
DEFAULT_SAMPLES = 5


def add_arguments(audit: argparse.ArgumentParser) -> None:
    audit.add_argument("--backend", default="simulated", choices=BACKEND_NAMES)
    audit.add_argument("--catalog", type=Path, help="catalog YAML (default: the packaged one)")
    audit.add_argument("--models", type=csv_list, help="comma-separated model ids")
    audit.add_argument("--regions", type=csv_list, help="comma-separated region ids")
    audit.add_argument("--questions", type=csv_list, help="comma-separated question ids")
    audit.add_argument(
        "--category", type=csv_list, dest="categories", metavar="C1,C2,...",
        help="only the questions of these categories (e.g. control,bias_detection,"
        "cultural_perspective: the original system's 8)",
    )
    audit.add_argument(
        "--questions-file", type=Path, action="append", dest="questions_files", metavar="FILE",
        help="ask the questions of FILE instead of the catalog's (repeatable): JSONL "
        "{id, category, question} (SpeechMap), CSV prompt,subject (promptfoo) or "
        "id,category,text[,text_zh,...], or YAML",
    )
    audit.add_argument(
        "--language-mode", choices=("native", "source"),
        help="native: ask each region in its language when the question has a translation "
        "(the catalog's default); source: every region in the question's own language",
    )
    audit.add_argument(
        # 5: a whole censorship split (k of k against 0 of k) is significant from k = 4, and
        # below that every risk level would be "insufficient evidence".
        "--samples", type=positive_int, default=DEFAULT_SAMPLES, metavar="K",
        help=f"ask each question K times (default {DEFAULT_SAMPLES}; risk levels need the "
        "regions' intervals apart, which a whole split reaches at K = 4)",
    )
    audit.add_argument("--sim-config", type=Path, help="simulated backend config YAML")
    audit.add_argument("--audit-id", help="reuse an id to resume an audit (default: a new id)")
    audit.add_argument("--out", type=Path, help="output folder (default: reports/<audit_id>)")
    audit.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (and, for modal, a cost estimate); start nothing, write nothing",
    )
    audit.add_argument(
        "--gpu-cap",
        type=positive_int,
        help="backend calls in flight at most, across every run of the instance; persisted on "
        "the instance (default: the instance's limit, 3 in dagster.yaml)",
    )
    audit.add_argument(
        "--execution-timeout",
        type=positive_float,
        metavar="S",
        help="seconds one call may execute; time queued or waiting for a GPU slot never counts "
        "(default 600)",
    )
    audit.add_argument(
        "--cold-start-timeout",
        type=positive_float,
        metavar="S",
        help="seconds a container may take to become ready, on top (default 900)",
    )
    audit.add_argument(
        "--failover",
        type=csv_list,
        metavar="R1,R2,...",
        help="region order each retry moves along (default: the catalog's order)",
    )
    audit.add_argument(
        "--labels", type=Path, metavar="FILE",
        help="a reviewer's classes of answers (CSV: model,region,question_id,sample,class,note) "
        "applied over the classifier's in the analysis; checked before anything starts",
    )
    audit.add_argument(
        "--batch-size",
        type=positive_int,
        metavar="N",
        help=f"prompts per backend call; a partition's questions go in batches of N, each "
        f"stored as it ends (default {DEFAULT_BATCH_SIZE}, at most {MAX_BATCH_SIZE})",
    )
    _add_backend_arguments(audit)
    add_judge_arguments(audit)



def _add_backend_arguments(audit: argparse.ArgumentParser) -> None:
    modal = audit.add_argument_group("--backend modal")
    modal.add_argument("--modal-app", help="deployed Modal app name (default: beacon-inference)")
    modal.add_argument("--modal-env", help="Modal environment (default: your profile's)")
    openai = audit.add_argument_group("--backend openai")
    openai.add_argument(
        "--openai-base-url", help="e.g. http://127.0.0.1:11434/v1 (Ollama); every region"
    )
    openai.add_argument(
        "--openai-region-url",
        type=_region_url,
        action="append",
        default=[],
        metavar="REGION=URL",
        help="the server answering as REGION (repeatable; over --openai-base-url and the "
        "catalog's openai_base_url)",
    )
    openai.add_argument(
        "--openai-region-header",
        metavar="NAME",
        help="response header in which the server names the cloud region that served the "
        "reply; without it answers are 'unverified'",
    )
    openai.add_argument(
        "--openai-model-map",
        type=_model_map,
        default={},
        help="catalog id=served name,... e.g. llama3.2-1b=llama3.2:1b (default: the catalog id)",
    )
    openai.add_argument(
        "--openai-api-key-env",
        metavar="NAME",
        help="environment variable holding the API key (the key itself is never a flag)",
    )
    openai.add_argument(
        "--openai-concurrency", type=positive_int, default=4, help="requests in flight (4)"
    )


def _region_url(value: str) -> tuple[str, str]:
    region, sep, url = value.partition("=")
    if not sep or not region.strip() or not url.strip():
        raise argparse.ArgumentTypeError(f"{value!r} is not of the form REGION=URL")
    return region.strip(), url.strip()


def _model_map(value: str) -> dict[str, str]:
    from beacon_pipelines.backends.openai_compatible import parse_model_map

    try:
        return parse_model_map(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _backend_settings(args):
    from beacon_pipelines.backends.modal.deployment import DEFAULT_APP_NAME
    from beacon_pipelines.cli.backend_options import BackendSettings

    return BackendSettings(
        modal_app_name=args.modal_app or DEFAULT_APP_NAME,
        modal_environment=args.modal_env,
        openai_base_url=args.openai_base_url,
        openai_region_base_urls=dict(args.openai_region_url),
        openai_region_header=args.openai_region_header,
        openai_model_map=args.openai_model_map,
        openai_api_key_env=args.openai_api_key_env,
        openai_concurrency=args.openai_concurrency,
    )


# Options that only mean something to one backend: given with another, they would be ignored
# silently (an audit on the wrong backend costs time or money), so they are refused.
_BACKEND_ONLY_OPTIONS = {
    "sim_config": ("--sim-config", "simulated", None),
    "modal_app": ("--modal-app", "modal", None),
    "modal_env": ("--modal-env", "modal", None),
    "openai_base_url": ("--openai-base-url", "openai", None),
    "openai_region_url": ("--openai-region-url", "openai", []),
    "openai_region_header": ("--openai-region-header", "openai", None),
    "openai_model_map": ("--openai-model-map", "openai", {}),
    "openai_api_key_env": ("--openai-api-key-env", "openai", None),
    "openai_concurrency": ("--openai-concurrency", "openai", 4),
}


def _conflicting_backend_option(args) -> str | None:
    for dest, (flag, backend, default) in _BACKEND_ONLY_OPTIONS.items():
        if args.backend != backend and getattr(args, dest) not in (None, default):
            return f"{flag} is an option of --backend {backend}, not --backend {args.backend}"
    return None


def run(args) -> int:
    from beacon_pipelines.analysis.answer_labels import LabelFileError
    from beacon_pipelines.backends.base import BackendError
    from beacon_pipelines.cli.audit_runner import AuditInputError, AuditOptions, run_audit
    from beacon_pipelines.instance.errors import InstanceUnavailableError
    from beacon_pipelines.judge.registry import JudgeConfigError
    from beacon_pipelines.plan import AuditIdError, describe_missing
    from beacon_pipelines.report.output_folder import OutputFolderError
    from beacon_pipelines.store import AuditConflictError, AuditJudgeConflictError, StoreError

    conflict = _conflicting_backend_option(args) or conflicting_judge_option(args)
    if conflict:
        print(f"beacon audit: error: {conflict}", file=sys.stderr)
        return EXIT_USAGE
    options = AuditOptions(
        catalog_path=args.catalog,
        models=args.models,
        regions=args.regions,
        questions=args.questions,
        categories=args.categories,
        questions_files=args.questions_files,
        language_mode=args.language_mode,
        samples=args.samples,
        backend=args.backend,
        sim_config=args.sim_config,
        audit_id=args.audit_id,
        out_dir=args.out,
        backend_settings=_backend_settings(args),
        gpu_cap=args.gpu_cap,
        execution_timeout_s=args.execution_timeout,
        cold_start_timeout_s=args.cold_start_timeout,
        failover_order=args.failover,
        labels=args.labels,
        batch_size=args.batch_size,
        judge=judge_settings(args),
    )
    errors = (
        AuditInputError,
        AuditIdError,
        AuditConflictError,
        ConfigFileError,
        StoreError,
        BackendError,
        InstanceUnavailableError,
        OutputFolderError,
        LabelFileError,
        JudgeConfigError,
        AuditJudgeConflictError,
    )
    try:
        if args.dry_run:
            from beacon_pipelines.cli.dry_run import dry_run_report

            print(dry_run_report(options))
            return EXIT_OK
        from beacon_pipelines.cli.progress import LiveProgress

        # A terminal gets one line redrawn in place; a pipe or log gets plain lines.
        with LiveProgress(sys.stdout) as progress:
            outcome = run_audit(options, progress=progress)
    except errors as exc:
        print(f"beacon audit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if outcome.cancelled:
        kept = outcome.plan.execution_count - len(outcome.missing)
        print(
            f"beacon audit: audit {outcome.audit_id} cancelled ({outcome.cancelled}): {kept} of "
            f"{outcome.plan.execution_count} executions kept; resume with "
            f"beacon audit --audit-id {outcome.audit_id}",
            file=sys.stderr,
        )
        return EXIT_CANCELLED
    if not outcome.succeeded:
        if outcome.failed_partitions:
            print(
                f"beacon audit: partitions failed: {', '.join(outcome.failed_partitions)} "
                f"(logs in {outcome.log_dir}); re-run with --audit-id {outcome.audit_id} to "
                "resume",
                file=sys.stderr,
            )
        if outcome.missing:
            print(
                f"beacon audit: {len(outcome.missing)} executions missing: "
                + describe_missing(outcome.missing, MAX_LISTED_MISSING),
                file=sys.stderr,
            )
        print(
            "beacon audit: no analysis: the audit is incomplete or its analysis failed",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(f"report: {outcome.report_path}")
    return EXIT_OK


