"""Audits started at once on a new $DAGSTER_HOME: the home is made, the project's dagster.yaml
linked in and the instance's storage created, once."""

from __future__ import annotations

import multiprocessing

import pytest

from beacon_pipelines_tests.conftest import PROJECT_DIR
from beacon_pipelines_tests.instance.open_race import import_beacon, open_at_once

CONTENDERS = 4
TRIES = 3  # without the creation lock, 2 of 4 failed in each of 3 tries here


@pytest.mark.integration
def test_audits_opening_a_new_instance_at_once_all_succeed(tmp_path, monkeypatch):
    for name in ("BEACON_STORE_URL", "BEACON_CATALOG"):
        monkeypatch.delenv(name, raising=False)
    spawn = multiprocessing.get_context("spawn")
    with spawn.Manager() as manager, spawn.Pool(CONTENDERS, initializer=import_beacon) as pool:
        for attempt in range(TRIES):
            home = tmp_path / f"home{attempt}"  # not there yet: each contender makes it
            barrier = manager.Barrier(CONTENDERS)
            outcomes = pool.starmap(open_at_once, [(str(home), barrier)] * CONTENDERS)
            assert outcomes == ["ok"] * CONTENDERS, (attempt, outcomes)
            assert sorted(p.name for p in home.iterdir()) == [
                "dagster.yaml", "history", "schedules",
            ]
            assert (home / "dagster.yaml").resolve() == PROJECT_DIR / "dagster.yaml"
