"""Which materializations belong to an audit: the one newest-first, paged scan of the event log.

Materializations carry the audit id in their metadata. An old audit's records may lie behind
many later audits', so the scan pages newest first until every wanted partition is found.
"""

from __future__ import annotations

from collections.abc import Iterable

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, EventLogRecord

PAGE = 1000
AUDIT_ID_METADATA = "audit_id"


def audit_of(record: EventLogRecord) -> str | None:
    """The audit a materialization record was made for, if it says."""
    materialization = record.asset_materialization
    value = materialization.metadata.get(AUDIT_ID_METADATA) if materialization else None
    return None if value is None else str(value.value)


def latest_for_audit(
    instance: DagsterInstance,
    asset_key: AssetKey,
    audit_id: str,
    partitions: Iterable[str] | None = None,
    after_timestamp: float | None = None,
) -> dict[str, EventLogRecord]:
    """Newest record of this audit for each wanted partition key ('' for an unpartitioned
    asset, when `partitions` is None)."""
    wanted = set(partitions) if partitions is not None else {""}
    records_filter = AssetRecordsFilter(
        asset_key=asset_key,
        asset_partitions=sorted(wanted) if partitions is not None else None,
        after_timestamp=after_timestamp,
    )
    found: dict[str, EventLogRecord] = {}
    cursor = None
    while len(found) < len(wanted):
        page = instance.fetch_materializations(
            records_filter, limit=PAGE, cursor=cursor, ascending=False
        )
        for record in page.records:
            key = record.partition_key or ""
            if key in wanted and key not in found and audit_of(record) == audit_id:
                found[key] = record
        if not page.has_more:
            break
        cursor = page.cursor
    return found
