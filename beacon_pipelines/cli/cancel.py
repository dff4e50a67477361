"""`beacon cancel AUDIT_ID`: stop a running audit, from any shell, keeping every stored answer.

The request is recorded in the store, where the `beacon audit` driving the audit sees it at its
next poll (0.5 s); this command also stops the audit's runs itself (audits launched from the
UI or a schedule have no driver), waits for them, then marks leftovers canceled and frees
their GPU slots.
"""

from __future__ import annotations

import argparse
import sys
import time

EXIT_OK, EXIT_USAGE = 0, 2
REASON = "beacon cancel"


def add_arguments(cancel: argparse.ArgumentParser) -> None:
    cancel.add_argument("audit_id", metavar="AUDIT_ID")
    cancel.add_argument(
        "--wait", type=float, default=8.0, metavar="S",
        help="seconds to let the audit's processes stop before their runs are marked canceled",
    )


def run(args) -> int:
    from beacon_pipelines.audit_status import CANCELLED, COMPLETE
    from beacon_pipelines.cli.reading import existing_instance, existing_store_url
    from beacon_pipelines.defs.audit_runs import audit_facts, audit_status, show_status
    from beacon_pipelines.defs.run_cancel import finish_cancel, stop_audit_runs
    from beacon_pipelines.instance.errors import InstanceUnavailableError
    from beacon_pipelines.plan import AuditIdError, check_audit_id
    from beacon_pipelines.report.stored_audit import UnknownAuditError
    from beacon_pipelines.store import ExecutionStore, StoreError

    try:
        store = ExecutionStore(existing_store_url(check_audit_id(args.audit_id)))
        plan = store.get_audit(args.audit_id)
        if plan is None:
            raise UnknownAuditError(f"no audit {args.audit_id!r} in {store.display_url}")
        with existing_instance() as instance:
            before = audit_status(instance, store, plan)
            if before.status in (COMPLETE, CANCELLED):
                print(f"audit {plan.audit_id} is already {before.status}: nothing to cancel")
                return EXIT_OK
            store.request_cancel(plan.audit_id, REASON)
            deadline = time.monotonic() + args.wait
            while True:
                stop_audit_runs(instance, plan.audit_id, REASON)
                facts = audit_facts(instance, plan, 0, store.audit_control(plan.audit_id))
                still = [r.run_id for r in facts.runs if r.live]
                if (not still and not facts.driver_alive) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            forced = finish_cancel(instance, plan.audit_id, REASON)
            after = audit_status(instance, store, plan)
            show_status(instance, plan.audit_id, after)
    except (AuditIdError, UnknownAuditError, StoreError, InstanceUnavailableError) as exc:
        print(f"beacon cancel: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if forced:
        print(f"marked {len(forced)} run(s) canceled that did not stop in {args.wait:g} s: "
              + ", ".join(r[:8] for r in forced))
    kept = store.succeeded_count(plan.audit_id)
    print(
        f"audit {plan.audit_id} {after.status}: {kept} of {plan.execution_count} executions "
        f"kept; resume with beacon audit --audit-id {plan.audit_id}"
    )
    store.dispose()
    return EXIT_OK
