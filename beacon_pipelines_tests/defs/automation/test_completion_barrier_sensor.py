"""The barrier sensor on a real instance: never early, exactly once, not for CLI audits."""

from __future__ import annotations

import json
import time

from dagster import AssetKey, DagsterRunStatus
from dagster._core.execution.backfill import PartitionBackfill

from beacon_pipelines.defs.jobs import ANALYSIS_JOB
from beacon_pipelines.defs.partitions import partition_key
from beacon_pipelines.defs.tags import AUDIT_ID_TAG, BACKFILL_TAG, LAUNCHED_BY_TAG


def _materialize_in_waves(beacon, tags, wave_size=3):
    """Every partition, a wave at a time, ticking after each one; returns the ticks."""
    ticks = []
    partitions = beacon.partitions
    for start in range(0, len(partitions), wave_size):
        for model, region in partitions[start : start + wave_size]:
            beacon.run_partition(model, region, tags)
            ticks.append(beacon.tick())
    return ticks


def test_first_run_and_staggered_refresh_are_analysed_once_after_the_last_partition(beacon):
    tags = beacon.audit_tags("audit-waves")
    ticks = _materialize_in_waves(beacon, tags)
    assert [len(t.requests) for t in ticks] == [0] * 8 + [1]
    assert "8 of 9 partitions complete" in ticks[7].skip_reason
    [request] = ticks[-1].requests
    assert request.tags[AUDIT_ID_TAG] == "audit-waves"
    assert request.tags[LAUNCHED_BY_TAG] == "completion_barrier"
    assert beacon.tick().requests == []  # the same state is never requested twice

    assert beacon.run_analysis(request.tags).success
    assert beacon.tick().requests == []

    # A refresh of the same audit whose partitions arrive in waves of three: eager() fired
    # after 3, 6 and 9 here; the barrier only after 9.
    refresh = _materialize_in_waves(beacon, tags)
    assert [len(t.requests) for t in refresh] == [0] * 8 + [1]
    assert "3 of 9 partitions newer than the last analysis" in refresh[2].skip_reason
    assert "6 of 9 partitions newer than the last analysis" in refresh[5].skip_reason
    [again] = refresh[-1].requests
    assert again.tags[AUDIT_ID_TAG] == "audit-waves" and again.run_key != request.run_key


def test_audits_do_not_complete_each_other(tiny_beacon):
    (model, region), other = tiny_beacon.partitions
    tiny_beacon.run_partition(model, region, tiny_beacon.audit_tags("audit-b"))
    tick = tiny_beacon.tick()
    assert tick.requests == []
    assert f"audit-b: 1 of 2 partitions complete; waiting for {other[0]}/{other[1]}" in (
        tick.skip_reason
    )
    for model, region in tiny_beacon.partitions:
        tiny_beacon.run_partition(model, region, tiny_beacon.audit_tags("audit-a"))
    assert [r.tags[AUDIT_ID_TAG] for r in tiny_beacon.tick().requests] == ["audit-a"]


def test_cli_audits_are_left_to_the_cli_unless_finished_from_elsewhere(tiny_beacon):
    cli = tiny_beacon.audit_tags("audit-cli", **{LAUNCHED_BY_TAG: "cli"})
    for model, region in tiny_beacon.partitions:
        tiny_beacon.run_partition(model, region, cli)
    tick = tiny_beacon.tick()
    assert tick.requests == [] and "launched by `beacon audit`" in tick.skip_reason

    # A partition re-run from the UI for that audit: the CLI is not going to analyse that.
    model, region = tiny_beacon.partitions[1]
    tiny_beacon.run_partition(model, region, tiny_beacon.audit_tags("audit-cli"))
    [request] = tiny_beacon.tick().requests
    assert request.tags[AUDIT_ID_TAG] == "audit-cli"


def test_an_analysis_in_flight_holds_the_audit_back_until_it_ends(tiny_beacon):
    tags = tiny_beacon.audit_tags("audit-busy")
    job = tiny_beacon.defs.resolve_job_def(ANALYSIS_JOB)
    pending = tiny_beacon.instance.create_run_for_job(
        job, tags={**tags, LAUNCHED_BY_TAG: "ui"}, status=DagsterRunStatus.NOT_STARTED
    )
    for model, region in tiny_beacon.partitions:
        tiny_beacon.run_partition(model, region, tags)
    tick = tiny_beacon.tick()
    assert tick.requests == [] and "1 run(s) of this audit still queued or running" in (
        tick.skip_reason
    )
    assert json.loads(tick.cursor)["waiting"] == ["audit-busy"]

    # That run is cancelled: no new materialization, yet the audit is looked at again.
    tiny_beacon.instance.report_run_canceled(pending)
    [request] = tiny_beacon.tick().requests
    assert request.tags[AUDIT_ID_TAG] == "audit-busy"
    assert json.loads(tiny_beacon.cursor)["waiting"] == []


def _backfill(beacon, backfill_id, asset_keys):
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=backfill_id,
        asset_graph=beacon.defs.resolve_asset_graph(),
        partition_names=[str(partition_key(m, r)) for m, r in beacon.partitions],
        asset_selection=[AssetKey(k) for k in asset_keys],
        backfill_timestamp=time.time(),
        tags={},
        dynamic_partitions_store=beacon.instance,
        all_partitions=False,
        title=None,
        description=None,
        run_config=None,
    )
    beacon.instance.add_backfill(backfill)


def test_backfills_of_the_partitions_are_analysed_but_whole_graph_backfills_analyse_themselves(
    tiny_beacon,
):
    _backfill(tiny_beacon, "wholegraph", ["inference_responses", "bias_analysis", "bias_report"])
    _backfill(tiny_beacon, "partsonly", ["inference_responses"])
    for model, region in tiny_beacon.partitions:
        tiny_beacon.run_partition(model, region, {BACKFILL_TAG: "wholegraph"})
    tick = tiny_beacon.tick()
    assert tick.requests == []
    assert "backfill-wholegraph: its backfill includes the analysis" in tick.skip_reason
    for model, region in tiny_beacon.partitions:
        tiny_beacon.run_partition(model, region, {BACKFILL_TAG: "partsonly"})
    [request] = tiny_beacon.tick().requests
    assert request.tags[AUDIT_ID_TAG] == "backfill-partsonly"
