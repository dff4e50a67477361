"""Run tags Beacon reads and writes; they tie Dagster runs to audits."""

AUDIT_ID_TAG = "beacon/audit_id"
BACKFILL_TAG = "dagster/backfill"  # Dagster's own: every run of one backfill carries it
# Who launched a run: "cli", "schedule", "completion_barrier"; the CLI analyses its own audits.
LAUNCHED_BY_TAG = "beacon/launched_by"


def audit_id_from_tags(tags: dict[str, str], run_id: str) -> str:
    """The audit a run belongs to: explicit tag, else its backfill, else the run itself.

    Runs of one UI backfill ("Materialize all") share an audit; a lone partition materialized
    from the UI is an audit of its own.
    """
    if tags.get(AUDIT_ID_TAG):
        return tags[AUDIT_ID_TAG]
    if tags.get(BACKFILL_TAG):
        return f"backfill-{tags[BACKFILL_TAG]}"
    return f"run-{run_id[:8]}"
# The audit's status (planned, running, finalizing, complete, failed, cancelled), kept current
# on every run of the audit so the UI's run list can be filtered by it.
AUDIT_STATUS_TAG = "beacon/audit_status"
