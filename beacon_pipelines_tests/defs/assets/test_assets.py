"""The asset graph on a real persistent instance: partitions persist, the analysis waits."""

from __future__ import annotations

import json

import pytest
from dagster import DagsterInstance, materialize

from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.defs.audit_graph import build_definitions
from beacon_pipelines.defs.partitions import ensure_audit_partition, partition_key
from beacon_pipelines.defs.resources import (
    ExecutionStoreResource,
    InferenceBackendResource,
    ReportSigningResource,
)
from beacon_pipelines.defs.tags import AUDIT_ID_TAG
from beacon_pipelines.store import ExecutionStore


@pytest.fixture
def setup(dagster_home, small_catalog, tmp_path):
    catalog = load_catalog(small_catalog)
    defs = build_definitions(catalog)
    assets = [
        defs.get_assets_def(k) for k in ("inference_responses", "bias_analysis", "bias_report")
    ]
    url = f"sqlite:///{tmp_path / 'beacon.db'}"
    resources = {
        "store": ExecutionStoreResource(url=url),
        "backend": InferenceBackendResource(),
        "signing": ReportSigningResource(),
    }
    with DagsterInstance.get() as instance:
        yield catalog, assets, resources, instance, ExecutionStore(url), tmp_path


def _materialize_partition(setup, model, region, audit_id="audit-t"):
    catalog, assets, resources, instance, _, _ = setup
    return materialize(
        [assets[0]],
        partition_key=partition_key(model, region),
        instance=instance,
        resources=resources,
        tags={AUDIT_ID_TAG: audit_id},
    )


def _analyse(setup, audit_id="audit-t"):
    _, assets, resources, instance, _, tmp_path = setup
    ensure_audit_partition(instance, audit_id)
    return materialize(
        assets[1:],
        selection=["bias_analysis", "bias_report"],
        partition_key=audit_id,
        instance=instance,
        resources=resources,
        tags={AUDIT_ID_TAG: audit_id},
        run_config={"ops": {"bias_report": {"config": {"out_dir": str(tmp_path / "out")}}}},
        raise_on_error=False,
    )


def test_partition_materializes_with_metadata_and_rows(setup):
    result = _materialize_partition(setup, "qwen2.5-1.5b", "ASIA")
    assert result.success
    [mat] = result.asset_materializations_for_node("inference_responses")
    meta = {k: v.value for k, v in mat.metadata.items()}
    assert meta["audit_id"] == "audit-t" and meta["planned"] == 2 and meta["succeeded_now"] == 2
    assert meta["success_rate"] == 1.0 and meta["served_regions"] == {"ASIA": 2}
    rows = setup[4].executions_frame("audit-t")
    assert len(rows) == 2 and set(rows["run_id"]) == {result.run_id}


def test_analysis_refuses_a_partial_audit_and_names_what_is_missing(setup):
    _materialize_partition(setup, "llama3.2-1b", "US")
    result = _analyse(setup)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "incomplete: 16 of 18 executions missing" in message
    assert "(llama3.2-1b, EU, math_basic)" in message
    assert not (setup[5] / "out" / "report.html").exists()


def test_complete_audit_is_analysed_with_lineage_and_report(setup):
    catalog = setup[0]
    run_ids = {}
    for model in catalog.model_ids:
        for region in catalog.region_ids:
            run_ids[str(partition_key(model, region))] = _materialize_partition(
                setup, model, region
            ).run_id
    result = _analyse(setup)
    assert result.success
    [analysis] = result.asset_materializations_for_node("bias_analysis")
    assert analysis.metadata["partitions_used"].value == run_ids
    assert analysis.metadata["executions"].value == 18
    assert analysis.metadata["refusals"].value >= 1  # qwen refuses Tiananmen in ASIA
    # Every answer in, the report still to write: the audit is finalizing while this runs.
    assert analysis.metadata["audit_status"].value == "finalizing"
    assert analysis.metadata["kpi_execution_success_rate"].value == 1.0
    assert analysis.metadata["kpi_attempts"].value == 18
    assert set(analysis.metadata["kpi_latency_by_region"].value) == set(catalog.region_ids)
    assert analysis.metadata["kpis_across_audits"].value["audits"] == 1
    out = setup[5] / "out"
    assert {p.name for p in out.iterdir()} == {
        "report.html",
        "executions.csv",
        "executions.parquet",
        "analysis.csv",
        "analysis.parquet",
        "answers.csv",
        "answers.parquet",
        "manifest.json",
        *(f"answers-{model}.html" for model in catalog.model_ids),  # one answers page per model
    }
    # The manifest lists the partition runs and the run that wrote the report.
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(run_ids.values()) | {result.run_id} == set(manifest["dagster_run_ids"])
    assert "signature" not in manifest  # no signing key in this environment


def test_partitions_of_another_audit_do_not_complete_this_one(setup):
    catalog = setup[0]
    for model in catalog.model_ids:
        for region in catalog.region_ids:
            _materialize_partition(setup, model, region, audit_id="audit-other")
    _materialize_partition(setup, "llama3.2-1b", "US", audit_id="audit-t")
    assert not _analyse(setup, "audit-t").success
    assert _analyse(setup, "audit-other").success


def test_an_old_audit_finds_its_partitions_behind_later_audits(setup, monkeypatch):
    """Lineage pages through materializations, newest first: the old audit's partitions lie
    behind every partition of a later audit, several pages deep."""
    from beacon_pipelines.defs import lineage

    monkeypatch.setattr(lineage, "PAGE", 2)
    catalog = setup[0]
    keys = [(m, r) for m in catalog.model_ids for r in catalog.region_ids]
    old = {str(partition_key(m, r)): _materialize_partition(setup, m, r).run_id for m, r in keys}
    for m, r in keys:
        _materialize_partition(setup, m, r, audit_id="audit-later")
    result = _analyse(setup, "audit-t")
    assert result.success
    [materialization] = result.asset_materializations_for_node("bias_analysis")
    assert materialization.metadata["partitions_used"].value == old
