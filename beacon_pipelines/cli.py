"""The `beacon` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from beacon_pipelines.yaml_config import ConfigFileError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _csv_list(value: str) -> list[str]:
    items = [v.strip() for v in value.split(",")]
    if not value.strip() or any(not v for v in items):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {value!r}")
    return items


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="beacon", description="Audit LLMs for regional bias and censorship."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    audit = sub.add_parser("audit", help="run a whole audit through the Dagster instance")
    audit.add_argument("--backend", default="simulated", choices=["simulated", "modal", "openai"])
    audit.add_argument("--catalog", type=Path, help="catalog YAML (default: the packaged one)")
    audit.add_argument("--models", type=_csv_list, help="comma-separated model ids")
    audit.add_argument("--regions", type=_csv_list, help="comma-separated region ids")
    audit.add_argument("--questions", type=_csv_list, help="comma-separated question ids")
    audit.add_argument(
        "--samples", type=_positive_int, default=1, metavar="K",
        help="ask each question K times (K distinct executions; intervals use them)",
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
        type=_positive_int,
        help="backend calls in flight at most, across every run of the instance; persisted on "
        "the instance (default: the instance's limit, 3 in dagster.yaml)",
    )
    audit.add_argument(
        "--execution-timeout",
        type=_positive_float,
        metavar="S",
        help="seconds one call may execute; time queued or waiting for a GPU slot never counts "
        "(default 600)",
    )
    audit.add_argument(
        "--cold-start-timeout",
        type=_positive_float,
        metavar="S",
        help="seconds a container may take to become ready, on top (default 900)",
    )
    audit.add_argument(
        "--failover",
        type=_csv_list,
        metavar="R1,R2,...",
        help="region order each retry moves along (default: the catalog's order)",
    )
    _add_backend_arguments(audit)

    modal = sub.add_parser("modal", help="the Modal deployment")
    modal_sub = modal.add_subparsers(dest="modal_command", required=True)
    deploy = modal_sub.add_parser(
        "deploy", help="deploy beacon_pipelines/modal_app.py (runs `modal deploy`)"
    )
    deploy.add_argument("--catalog", type=Path, help="catalog YAML (default: the packaged one)")
    deploy.add_argument("--app", help="Modal app name (default: beacon-inference)")
    deploy.add_argument(
        "--hf-secret",
        help="Modal secret holding HF_TOKEN (default: huggingface-secret; '' for none)",
    )
    deploy.add_argument("--env", help="Modal environment (default: your profile's)")

    executions = sub.add_parser("executions", help="print or export an audit's executions")
    executions.add_argument("--audit-id", required=True)
    executions.add_argument("--csv", type=Path, help="write CSV here instead of printing")

    report = sub.add_parser("report", help="re-render an audit's report folder from the store")
    report.add_argument("audit_id", metavar="AUDIT_ID")
    report.add_argument("--out", type=Path, help="output folder (default: reports/<audit_id>)")
    report.add_argument("--catalog", type=Path, help="catalog YAML (default: the packaged one)")

    from beacon_pipelines import eval_refusals

    eval_refusals.add_arguments(
        sub.add_parser("eval-refusals", help="measure the refusal classifier on labelled CSVs")
    )
    return parser


def _add_backend_arguments(audit: argparse.ArgumentParser) -> None:
    modal = audit.add_argument_group("--backend modal")
    modal.add_argument("--modal-app", help="deployed Modal app name (default: beacon-inference)")
    modal.add_argument("--modal-env", help="Modal environment (default: your profile's)")
    openai = audit.add_argument_group("--backend openai")
    openai.add_argument("--openai-base-url", help="e.g. http://127.0.0.1:11434/v1 (Ollama)")
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
        "--openai-concurrency", type=_positive_int, default=4, help="requests in flight (4)"
    )


def _model_map(value: str) -> dict[str, str]:
    from beacon_pipelines.backends.openai_compatible import parse_model_map

    try:
        return parse_model_map(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value!r}")
    return number


def _backend_settings(args):
    from beacon_pipelines.backend_settings import BackendSettings
    from beacon_pipelines.backends.modal_deployment import DEFAULT_APP_NAME

    return BackendSettings(
        modal_app_name=args.modal_app or DEFAULT_APP_NAME,
        modal_environment=args.modal_env,
        openai_base_url=args.openai_base_url,
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
    "openai_model_map": ("--openai-model-map", "openai", {}),
    "openai_api_key_env": ("--openai-api-key-env", "openai", None),
    "openai_concurrency": ("--openai-concurrency", "openai", 4),
}


def _conflicting_backend_option(args) -> str | None:
    for dest, (flag, backend, default) in _BACKEND_ONLY_OPTIONS.items():
        if args.backend != backend and getattr(args, dest) not in (None, default):
            return f"{flag} is an option of --backend {backend}, not --backend {args.backend}"
    return None


def _audit(args) -> int:
    from beacon_pipelines.audit_plan import AuditIdError
    from beacon_pipelines.audit_runner import AuditInputError, AuditOptions, run_audit
    from beacon_pipelines.backends.base import BackendError
    from beacon_pipelines.instance_errors import InstanceUnavailableError
    from beacon_pipelines.output_folder import OutputFolderError
    from beacon_pipelines.store import AuditConflictError, StoreError

    if args.backend == "openai" and not args.openai_base_url:
        print("beacon audit: error: --backend openai needs --openai-base-url", file=sys.stderr)
        return EXIT_USAGE
    conflict = _conflicting_backend_option(args)
    if conflict:
        print(f"beacon audit: error: {conflict}", file=sys.stderr)
        return EXIT_USAGE
    options = AuditOptions(
        catalog_path=args.catalog,
        models=args.models,
        regions=args.regions,
        questions=args.questions,
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
    )
    try:
        if args.dry_run:
            from beacon_pipelines.dry_run import dry_run_report

            print(dry_run_report(options))
            return EXIT_OK
        from beacon_pipelines.progress import LiveProgress

        # A terminal gets one line redrawn in place; a pipe or log gets plain lines.
        with LiveProgress(sys.stdout) as progress:
            outcome = run_audit(options, progress=progress)
    except errors as exc:
        print(f"beacon audit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not outcome.succeeded:
        if outcome.failed_partitions:
            print(
                f"beacon audit: partitions failed: {', '.join(outcome.failed_partitions)} "
                f"(logs in {outcome.log_dir}); re-run with --audit-id {outcome.audit_id} to "
                "resume",
                file=sys.stderr,
            )
        if outcome.missing:
            listed = ", ".join(f"({m}, {r}, {q})" for m, r, q, _ in outcome.missing[:10])
            more = len(outcome.missing) - 10
            print(
                f"beacon audit: {len(outcome.missing)} executions missing: {listed}"
                + (f" and {more} more" if more > 0 else ""),
                file=sys.stderr,
            )
        print(
            "beacon audit: no analysis: the audit is incomplete or its analysis failed",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(f"report: {outcome.report_path}")
    return EXIT_OK


def _executions(args) -> int:
    import os

    from beacon_pipelines.instance_home import ensure_dagster_home
    from beacon_pipelines.report.exports import executions_for_export
    from beacon_pipelines.store import ExecutionStore, StoreError, default_store_url

    home = ensure_dagster_home()
    try:
        store = ExecutionStore(os.environ.get("BEACON_STORE_URL") or default_store_url(home))
        plan = store.get_audit(args.audit_id)
        frame = None if plan is None else store.executions_frame(args.audit_id)
    except StoreError as exc:
        print(f"beacon executions: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if plan is None:
        print(
            f"beacon executions: error: no audit {args.audit_id!r} in {store.display_url}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    frame = executions_for_export(frame)
    if args.csv:
        try:
            frame.to_csv(args.csv, index=False)
        except OSError as exc:
            print(f"beacon executions: error: cannot write {args.csv}: {exc.strerror}",
                  file=sys.stderr)
            return EXIT_USAGE
        print(f"{len(frame)} executions written to {args.csv}")
    else:
        print(frame.drop(columns=["response"]).to_string(index=False))
    return EXIT_OK


def _report(args) -> int:
    from beacon_pipelines.analysis.similarity_choice import SimilaritySettingError
    from beacon_pipelines.audit_plan import AuditIdError
    from beacon_pipelines.report.exports import OutputDirError
    from beacon_pipelines.report_command import (
        IncompleteAuditError,
        UnknownAuditError,
        rerender_report,
    )
    from beacon_pipelines.store import StoreError

    try:
        done = rerender_report(args.audit_id, out_dir=args.out, catalog_path=args.catalog)
    except (
        UnknownAuditError, AuditIdError, ConfigFileError, StoreError, OutputDirError,
        SimilaritySettingError,
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


def _modal(args) -> int:
    from beacon_pipelines.modal_deploy import deploy

    return deploy(catalog=args.catalog, app_name=args.app, hf_secret=args.hf_secret, env=args.env)


def _eval_refusals(args) -> int:
    from beacon_pipelines.eval_refusals import run

    return run(args)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {
        "audit": _audit,
        "executions": _executions,
        "modal": _modal,
        "report": _report,
        "eval-refusals": _eval_refusals,
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
