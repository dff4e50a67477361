"""The probe of the instance's Postgres, run before Dagster opens it (which retries for 15 s)."""

from __future__ import annotations

import pytest
import yaml

from beacon_pipelines.instance.errors import InstanceUnavailableError
from beacon_pipelines.instance.postgres_probe import (
    PostgresTarget,
    postgres_targets,
    probe_instance_postgres,
)
from beacon_pipelines_tests.postgres_fixtures import POSTGRES_INSTANCE_YAML, postgres_home

PG_ENV = {
    "DAGSTER_PG_USERNAME": "beacon",
    "DAGSTER_PG_PASSWORD": "pw",
    "DAGSTER_PG_HOST": "db.internal",
    "DAGSTER_PG_DB": "beacon",
}


def test_the_three_storages_of_the_example_are_one_server(monkeypatch):
    for name, value in PG_ENV.items():
        monkeypatch.setenv(name, value)
    config = yaml.safe_load(POSTGRES_INSTANCE_YAML.read_text())
    targets = list(dict.fromkeys(postgres_targets(config)))
    assert targets == [PostgresTarget("db.internal", 5432, "beacon", "pw", "beacon")]


def test_an_unset_variable_is_left_to_dagster_to_name(monkeypatch):
    for name, value in PG_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DAGSTER_PG_PASSWORD")
    assert list(postgres_targets(yaml.safe_load(POSTGRES_INSTANCE_YAML.read_text()))) == []


def test_a_postgres_url_storage_is_probed_too(monkeypatch):
    monkeypatch.setenv("PG_URL", "postgresql://u:pw@10.0.0.5:6432/audits?sslmode=require")
    config = {"storage": {"postgres": {"postgres_url": {"env": "PG_URL"}}}}
    assert list(postgres_targets(config)) == [
        PostgresTarget("10.0.0.5", 6432, "u", "pw", "audits", (("sslmode", "require"),))
    ]


def test_a_sqlite_instance_is_not_probed(tmp_path):
    (tmp_path / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    probe_instance_postgres(tmp_path)  # nothing to reach, nothing raised
    probe_instance_postgres(tmp_path / "missing")  # no dagster.yaml: Dagster's defaults


def test_a_live_postgres_passes_and_a_missing_database_is_one_line(
    tmp_path, new_database, monkeypatch
):
    env = postgres_home(tmp_path / "home", new_database())
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    probe_instance_postgres(tmp_path / "home")
    monkeypatch.setenv("DAGSTER_PG_DB", "beacon_no_such_database")
    with pytest.raises(InstanceUnavailableError) as missing:
        probe_instance_postgres(tmp_path / "home")
    assert 'database "beacon_no_such_database" does not exist' in str(missing.value)
    assert "\n" not in str(missing.value)
