"""A real persistent instance with the project's dagster.yaml and Beacon's definitions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, Definitions, RunRequest, build_sensor_context

from beacon_pipelines.catalog import Catalog, load_catalog
from beacon_pipelines.defs.audit_graph import build_definitions
from beacon_pipelines.defs.automation.schedule_settings import ScheduleSettings
from beacon_pipelines.defs.jobs import ANALYSIS_JOB, INFERENCE_JOB
from beacon_pipelines.defs.partitions import ensure_audit_partition, partition_key
from beacon_pipelines.defs.tags import AUDIT_ID_TAG
from beacon_pipelines.store import ExecutionStore, default_store_url
from beacon_pipelines_tests.conftest import default_catalog_dict


@dataclass
class Tick:
    requests: list[RunRequest]
    cursor: str
    skip_reason: str


@dataclass
class Beacon:
    catalog: Catalog
    defs: Definitions
    instance: DagsterInstance
    store: ExecutionStore
    out_dir: Path
    cursor: str | None = None

    @property
    def partitions(self) -> list[tuple[str, str]]:
        return [(m, r) for m in self.catalog.model_ids for r in self.catalog.region_ids]

    def run_partition(self, model: str, region: str, tags: dict[str, str]):
        result = self.defs.resolve_job_def(INFERENCE_JOB).execute_in_process(
            instance=self.instance, partition_key=partition_key(model, region), tags=tags
        )
        assert result.success
        return result

    def run_analysis(self, tags: dict[str, str], raise_on_error: bool = True):
        """The analysis of the audit in `tags`, in its own partition (as the CLI runs it)."""
        audit_id = tags[AUDIT_ID_TAG]
        ensure_audit_partition(self.instance, audit_id)
        return self.defs.resolve_job_def(ANALYSIS_JOB).execute_in_process(
            instance=self.instance,
            partition_key=audit_id,
            tags=tags,
            run_config={"ops": {"bias_report": {"config": {"out_dir": str(self.out_dir)}}}},
            raise_on_error=raise_on_error,
        )

    def tick(self, sensor_name: str = "completion_barrier") -> Tick:
        """Evaluate the sensor as the daemon would, carrying the cursor between ticks."""
        sensor = self.defs.resolve_sensor_def(sensor_name)
        # As a context manager: what the evaluation opens (resources, instance scope) is closed
        # after the tick, as the daemon does.
        with build_sensor_context(
            instance=self.instance,
            instance_ref=self.instance.get_ref(),  # as the daemon has: dynamic partitions load
            cursor=self.cursor,
            definitions=self.defs,
            resources=self.defs.resources,
        ) as context:
            result = sensor.evaluate_tick(context)
        self.cursor = result.cursor
        for add in result.dynamic_partitions_requests or []:  # as the daemon applies them
            self.instance.add_dynamic_partitions(add.partitions_def_name, add.partition_keys)
        return Tick(list(result.run_requests or []), result.cursor, result.skip_message or "")

    def audit_tags(self, audit_id: str, **extra: str) -> dict[str, str]:
        return {AUDIT_ID_TAG: audit_id, **extra}


def _beacon(dagster_home: Path, catalog_path: Path, out_dir: Path):
    catalog = load_catalog(catalog_path)
    settings = ScheduleSettings(
        cron="0 3 * * 1", timezone="UTC", questions=tuple(catalog.question_ids)
    )
    defs = build_definitions(catalog, schedule=settings)
    store = ExecutionStore(default_store_url(dagster_home)).create()
    with DagsterInstance.get() as instance:
        yield Beacon(catalog, defs, instance, store, out_dir)
    store.dispose()


@pytest.fixture
def beacon(dagster_home, small_catalog, tmp_path, monkeypatch) -> Beacon:
    """Nine partitions (3 models x 3 regions), two questions each: the shape of a real audit."""
    monkeypatch.delenv("BEACON_STORE_URL", raising=False)
    yield from _beacon(dagster_home, small_catalog, tmp_path / "reports")


@pytest.fixture
def tiny_beacon(dagster_home, tmp_path, monkeypatch) -> Beacon:
    """Two partitions (one model, two regions), two questions: for rules that need no waves."""
    monkeypatch.delenv("BEACON_STORE_URL", raising=False)
    data = default_catalog_dict()
    data["models"] = data["models"][:1]
    data["regions"] = data["regions"][:2]
    wanted = ("math_basic", "tiananmen_1989")
    data["questions"] = [q for q in data["questions"] if q["id"] in wanted]
    path = tmp_path / "tiny_catalog.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    yield from _beacon(dagster_home, path, tmp_path / "reports")
