"""`beacon audits`: every audit of the store, newest first, with its status and KPIs.

The status is derived each time from the store and the Dagster instance (audit_status.py), so
an audit whose processes died is never shown as running.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from beacon_pipelines.audit_status import STATUSES

EXIT_OK, EXIT_USAGE = 0, 2


def add_arguments(audits: argparse.ArgumentParser) -> None:
    audits.add_argument("--json", action="store_true", help="a JSON list of audit objects")
    audits.add_argument("--status", choices=STATUSES, help="only audits with this status")
    audits.add_argument(
        "--summary", action="store_true",
        help="with --json: an object {audits: [...], across_audits: KPIs of those listed}",
    )


def _created(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch or 0))


def audit_rows(store, instance, status_filter: str | None = None) -> tuple[list[dict], list]:
    """(one dict per audit, newest first; the execution frames of those listed)."""
    from beacon_pipelines.analysis.kpis import execution_kpis
    from beacon_pipelines.audit_status import derive_status
    from beacon_pipelines.defs.audit_runs import audit_facts, overall_risk

    counts = store.succeeded_counts()
    controls = store.audit_controls()
    rows, frames = [], []
    now = time.time()
    for plan in sorted(store.list_audits(), key=lambda p: p.created_at, reverse=True):
        facts = audit_facts(instance, plan, counts.get(plan.audit_id, 0),
                            controls.get(plan.audit_id))
        status = derive_status(facts, now)
        if status_filter and status.status != status_filter:
            continue
        executions = store.executions_frame(plan.audit_id)
        frames.append(executions)
        rows.append({
            "audit_id": plan.audit_id,
            "created": _created(plan.created_at) + "Z",
            "backend": plan.backend,
            "models": list(plan.models),
            "regions": list(plan.regions),
            "questions": list(plan.questions),
            "samples": plan.samples,
            "size": f"{len(plan.models)}x{len(plan.regions)}x{len(plan.questions)}"
                    f"x{plan.samples}",
            "status": status.status,
            "status_detail": status.detail,
            "executions_succeeded": facts.succeeded,
            "executions_planned": plan.execution_count,
            "overall_risk": overall_risk(instance, plan.audit_id),
            "report_path": facts.report_path,
            "kpis": execution_kpis(executions).as_dict(),
        })
    return rows, frames


def _table(rows: list[dict]) -> str:
    header = ["AUDIT", "CREATED (UTC)", "BACKEND", "MxRxQxS", "STATUS", "EXECUTIONS", "RISK",
              "REPORT"]
    lines = [[
        r["audit_id"], r["created"].rstrip("Z"), r["backend"], r["size"], r["status"],
        f"{r['executions_succeeded']}/{r['executions_planned']}", r["overall_risk"] or "-",
        r["report_path"] or "-",
    ] for r in rows]
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines, strict=True)]
    out = ["  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
           for line in [header, *lines]]
    for r in rows:
        if r["status"] in ("failed", "cancelled") and r["status_detail"]:
            out.append(f"  {r['audit_id']}: {r['status_detail']}")
    return "\n".join(out)


def _kpi_line(kpis) -> str:
    latency = ", ".join(
        f"{region} p50 {v['p50_s']:.2f}s p95 {v['p95_s']:.2f}s"
        for region, v in kpis.latency_by_region.items()
    )
    return (
        f"across {kpis.audits} audit(s): execution success {kpis.execution_success_rate:.1%}, "
        f"retries {kpis.retry_rate:.1%}, failovers {kpis.failover_rate:.1%}, timeouts "
        f"{kpis.timeout_rate:.1%}, {kpis.gpu_seconds:,.0f} GPU-s, mean makespan "
        f"{kpis.makespan_s:,.1f}s" + (f"; latency {latency}" if latency else "")
    )


def run(args) -> int:
    from beacon_pipelines.analysis.kpis import kpis_across
    from beacon_pipelines.cli.reading import existing_instance
    from beacon_pipelines.instance.errors import InstanceUnavailableError
    from beacon_pipelines.instance.home import dagster_home
    from beacon_pipelines.store import ExecutionStore, StoreError, resolve_store_url, store_exists

    try:
        url = resolve_store_url(dagster_home())
        rows, frames = [], []
        if store_exists(url):  # no store yet: no audits, and nothing is created to say so
            store = ExecutionStore(url)
            with existing_instance() as instance:
                rows, frames = audit_rows(store, instance, args.status)
            store.dispose()
    except (StoreError, InstanceUnavailableError) as exc:
        print(f"beacon audits: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    across = kpis_across(frames)
    if args.json:
        payload = {"audits": rows, "across_audits": across.as_dict()} if args.summary else rows
        print(json.dumps(payload, indent=2))
    elif not rows:
        print("no audits" + (f" with status {args.status}" if args.status else ""))
    else:
        print(_table(rows))
        print(_kpi_line(across))
    return EXIT_OK
