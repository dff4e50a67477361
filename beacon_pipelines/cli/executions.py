"""`beacon executions --audit-id ID`: print or export an audit's executions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_USAGE = 0, 2


def add_arguments(executions: argparse.ArgumentParser) -> None:
    executions.add_argument("--audit-id", required=True)
    executions.add_argument("--csv", type=Path, help="write CSV here instead of printing")


def run(args) -> int:
    from beacon_pipelines.atomic_file import write_atomically
    from beacon_pipelines.cli.reading import existing_store_url
    from beacon_pipelines.instance.errors import InstanceUnavailableError
    from beacon_pipelines.plan import AuditIdError, check_audit_id
    from beacon_pipelines.report.exports import executions_for_export, for_csv
    from beacon_pipelines.report.safe_text import terminal_line
    from beacon_pipelines.report.stored_audit import UnknownAuditError
    from beacon_pipelines.store import ExecutionStore, StoreError

    try:
        store = ExecutionStore(existing_store_url(check_audit_id(args.audit_id)))
        plan = store.get_audit(args.audit_id)
        frame = None if plan is None else store.executions_frame(args.audit_id)
    except (AuditIdError, InstanceUnavailableError, UnknownAuditError, StoreError) as exc:
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
            cells = for_csv(frame)  # as executions.csv writes them
            write_atomically(args.csv, lambda partial: cells.to_csv(partial, index=False))
        except OSError as exc:
            print(f"beacon executions: error: cannot write {args.csv}: {exc.strerror}",
                  file=sys.stderr)
            return EXIT_USAGE
        print(f"{len(frame)} executions written to {args.csv}")
    else:
        # Server and model text is untrusted: no control sequence reaches the terminal.
        table = frame.drop(columns=["response"])
        text_columns = table.select_dtypes(include=["object", "string"]).columns
        table[text_columns] = table[text_columns].map(terminal_line)
        print(table.to_string(index=False))
    return EXIT_OK


