"""Shared fixtures: temp Dagster homes, small catalogs, stores."""

from __future__ import annotations

import contextlib
import multiprocessing.process
import os
import shutil
import socketserver
import subprocess
import tempfile
from pathlib import Path
from unittest import mock

import dagster  # noqa: F401 - imported once here: its import runs `file` (platform.architecture)
import pytest
import yaml

from beacon_pipelines.catalog import CATALOG_ENV_VAR, DEFAULT_CATALOG_PATH
from beacon_pipelines.store import ExecutionStore

PROJECT_DIR = Path(__file__).resolve().parents[1]
# Real-Postgres fixtures (pg_admin, pg_url, new_database) for the tests that need them.
pytest_plugins = ["beacon_pipelines_tests.postgres_fixtures"]


# The packaged catalog as the tests use it: its regions, models and prompts with the original
# system's 8 questions only, so whole audits in tests stay 3 x 3 x 8. Beacon's 60-question set
# (its questions_files) is tested on its own in catalog/test_builtin_questions.py.
_QUESTIONS_FILES_BLOCK = "questions_files:\n  - beacon_questions.yaml\n"


def default_catalog_text() -> str:
    text = DEFAULT_CATALOG_PATH.read_text()
    assert _QUESTIONS_FILES_BLOCK in text, "the packaged catalog's questions_files changed"
    return text.replace(_QUESTIONS_FILES_BLOCK, "")


def default_catalog_dict() -> dict:
    return yaml.safe_load(default_catalog_text())


_tests_catalog_dir: str | None = None

# Dagster's SQLite storage commits each event in a transaction of its own, each an fsync: on a
# virtual disk that is milliseconds each, and most of the suite's wall time. The tests' files
# (instances, stores, reports) go to a RAM file system when there is one with room; nothing a
# test asserts depends on surviving a power cut. An explicit TMPDIR is left alone.
RAM_TEMP_ROOT = Path("/dev/shm")
RAM_TEMP_MIN_FREE = 4 << 30


def _ram_temp_root() -> Path | None:
    if "TMPDIR" in os.environ or not os.access(RAM_TEMP_ROOT, os.W_OK):
        return None
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    if not any(line.split()[1:3] == [str(RAM_TEMP_ROOT), "tmpfs"] for line in mounts):
        return None
    free = os.statvfs(RAM_TEMP_ROOT)
    return RAM_TEMP_ROOT if free.f_bavail * free.f_frsize >= RAM_TEMP_MIN_FREE else None


def pytest_configure(config):
    """Temp files on a RAM file system where there is one (above); every test, and every
    process it starts, loads the 8-question catalog by default."""
    global _tests_catalog_dir
    root = _ram_temp_root()
    if root is not None:
        os.environ["TMPDIR"] = str(root)  # the processes the tests start
        tempfile.tempdir = str(root)  # tmp_path, tmp_path_factory and this process
    _tests_catalog_dir = tempfile.mkdtemp(prefix="beacon-tests-catalog-")
    path = Path(_tests_catalog_dir) / "catalog.yaml"
    path.write_text(default_catalog_text())
    os.environ[CATALOG_ENV_VAR] = str(path)


def pytest_unconfigure(config):
    if _tests_catalog_dir:
        shutil.rmtree(_tests_catalog_dir, ignore_errors=True)


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
    env[CATALOG_ENV_VAR] = os.environ[CATALOG_ENV_VAR]  # the tests' catalog (pytest_configure)
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
