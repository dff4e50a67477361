"""Shared fixtures: temp Dagster homes, small catalogs, stores."""

from __future__ import annotations

import contextlib
import multiprocessing.process
import os
import socketserver
import subprocess
from pathlib import Path
from unittest import mock

import dagster  # noqa: F401 - imported once here: its import runs `file` (platform.architecture)
import pytest
import yaml

from beacon_pipelines.catalog import DEFAULT_CATALOG_PATH
from beacon_pipelines.store import ExecutionStore

PROJECT_DIR = Path(__file__).resolve().parents[1]
# Real-Postgres fixtures (pg_admin, pg_url, new_database) for the tests that need them.
pytest_plugins = ["beacon_pipelines_tests.postgres_fixtures"]


def default_catalog_dict() -> dict:
    return yaml.safe_load(DEFAULT_CATALOG_PATH.read_text())


def write_catalog(path: Path, **overrides) -> Path:
    data = default_catalog_dict()
    data.update(overrides)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def write_small_catalog(path: Path) -> Path:
    """Three models x three regions x two questions: the full shape at a quarter of the size."""
    data = default_catalog_dict()
    data["questions"] = [
        q for q in data["questions"] if q["id"] in ("math_basic", "tiananmen_1989")
    ]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(autouse=True)
def lexical_similarity(monkeypatch):
    """Hand-made cases are calibrated for TF-IDF: results must not depend on whether the
    `embeddings` extra is installed. Tests of the embedding path set BEACON_SIMILARITY."""
    monkeypatch.setenv("BEACON_SIMILARITY", "tfidf")


@pytest.fixture
def small_catalog(tmp_path) -> Path:
    return write_small_catalog(tmp_path / "catalog.yaml")


@pytest.fixture
def dagster_home(tmp_path, monkeypatch) -> Path:
    """A persistent instance (SQLite) with the project's dagster.yaml, as `make audit` has."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_DIR / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def store(tmp_path) -> ExecutionStore:
    store = ExecutionStore(f"sqlite:///{tmp_path / 'store.db'}").create()
    yield store
    store.dispose()


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACON_")}
    env["DAGSTER_HOME"] = str(home)
    env.update(extra)
    return env


# -- the `integration` marker --------------------------------------------------------------------
# `pytest -m "not integration"` is the fast suite. A test that starts a process, a server or
# Postgres must say so with @pytest.mark.integration; outside it, those calls fail at once, so
# the marker cannot go stale. Tests using a fixture that starts Postgres or a server are marked
# here, by the fixture's name.
INTEGRATION_FIXTURES = {
    "pg_admin", "pg_url", "new_database",  # postgres_fixtures.py
    "server",  # backends/test_openai_compatible.py: a local OpenAI-compatible HTTP server
    "webhook", "failing_webhook",  # defs/automation/test_run_failure_alert.py
}


def pytest_collection_modifyitems(items):
    for item in items:
        if INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


class UnmarkedIntegrationError(AssertionError):
    pass


@contextlib.contextmanager
def _refusing_processes(item):
    """Outside @pytest.mark.integration: starting a process, forking or binding a server fails
    at once. Held during setup too, so a module-scoped fixture cannot start one unnoticed."""
    if item.get_closest_marker("integration"):
        yield
        return

    def refuse(what):
        def refused(*args, **kwargs):
            raise UnmarkedIntegrationError(
                f"{item.nodeid} {what}: mark it @pytest.mark.integration"
            )

        return refused

    popen_init = subprocess.Popen.__init__

    def popen_unless_log_tail(self, args, *rest, **kwargs):
        # Dagster's own compute-log capture tails each run's log with `tail` on a persistent
        # instance: its plumbing, not a process of the test's.
        if isinstance(args, list | tuple) and args and os.path.basename(str(args[0])) == "tail":
            return popen_init(self, args, *rest, **kwargs)
        refuse("starts a process")()

    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(subprocess.Popen, "__init__", popen_unless_log_tail))
        stack.enter_context(
            mock.patch.object(
                multiprocessing.process.BaseProcess, "start", refuse("starts a process")
            )
        )
        stack.enter_context(mock.patch.object(os, "fork", refuse("forks")))
        stack.enter_context(
            mock.patch.object(socketserver.TCPServer, "server_bind", refuse("starts a server"))
        )
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    with _refusing_processes(item):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    with _refusing_processes(item):
        yield
