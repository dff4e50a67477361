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
    from beacon_pipelines.cli.reading import existing_store_url
    from beacon_pipelines.instance.errors import InstanceUnavailableError
    from beacon_pipelines.plan import AuditIdError, check_audit_id
    from beacon_pipelines.report.exports import executions_for_export, for_csv
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
            for_csv(frame).to_csv(args.csv, index=False)  # as executions.csv writes it
        except OSError as exc:
            print(f"beacon executions: error: cannot write {args.csv}: {exc.strerror}",
                  file=sys.stderr)
            return EXIT_USAGE
        print(f"{len(frame)} executions written to {args.csv}")
    else:
        print(frame.drop(columns=["response"]).to_string(index=False))
    return EXIT_OK


