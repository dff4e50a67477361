"""Shared fixtures: temp Dagster homes, small catalogs, stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from beacon_pipelines.catalog import DEFAULT_CATALOG_PATH
from beacon_pipelines.store import ExecutionStore

PROJECT_DIR = Path(__file__).resolve().parents[1]


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
