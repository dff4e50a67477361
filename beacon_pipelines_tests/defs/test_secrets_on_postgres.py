"""Secrets go in through environment variables and come out nowhere: not in the CLI's output,
the files Beacon or Dagster write, the Dagster event log or run records, nor any store row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.report.manifest_check import check_folder
from beacon_pipelines_tests.conftest import cli_env
from beacon_pipelines_tests.postgres_fixtures import database_url, postgres_home
from beacon_pipelines_tests.support.openai_server import FakeOpenAIServer

BEACON = Path(sys.executable).with_name("beacon")
SENTINELS = {
    "postgres password": "pgpw-SENTINEL-7c1e",  # trust auth accepts any password
    "API key": "sk-SENTINEL-4b9d",
    "Modal token id": "ak-SENTINEL-20aa",
    "Modal token secret": "as-SENTINEL-e5f3",
    "report signing key": "sign-SENTINEL-91c2",
}


def _leaks(text: str) -> list[str]:
    return [name for name, value in SENTINELS.items() if value in text]


def _dump_database(url: str) -> str:
    """Every row of every table, as text: Dagster's runs, event log, tags, and Beacon's rows."""
    engine = sa.create_engine(url)
    chunks = []
    with engine.connect() as conn:
        meta = sa.MetaData()
        meta.reflect(conn)
        for table in meta.sorted_tables:
            chunks.append(table.name)
            chunks.extend(repr(tuple(row)) for row in conn.execute(sa.select(table)))
    engine.dispose()
    return "\n".join(chunks)


@pytest.mark.integration
def test_an_audit_with_sentinel_secrets_writes_them_nowhere(tmp_path, small_catalog, new_database):
    instance_db, store_db = new_database(), new_database()
    password = SENTINELS["postgres password"]
    store_url = database_url(store_db, password=password)
    home = tmp_path / "home"
    env = cli_env(home)
    env.update(postgres_home(home, instance_db, password=password))
    env.update(
        BEACON_STORE_URL=store_url,
        TEST_OPENAI_KEY=SENTINELS["API key"],
        # Set, so the definitions bind them as EnvVar for the modal backend, unused here.
        MODAL_TOKEN_ID=SENTINELS["Modal token id"],
        MODAL_TOKEN_SECRET=SENTINELS["Modal token secret"],
        # Bound as EnvVar by the definitions; signs the report folder's manifest.json.
        BEACON_SIGNING_KEY=SENTINELS["report signing key"],
    )
    catalog = load_catalog(small_catalog)
    with FakeOpenAIServer(models=catalog.model_ids, api_key=SENTINELS["API key"]) as server:
        done = subprocess.run(
            [
                str(BEACON), "audit", "--samples", "1",
                "--backend", "openai", "--catalog", str(small_catalog),
                "--models", "qwen2.5-1.5b", "--audit-id", "secrets",
                "--openai-base-url", server.base_url, "--openai-api-key-env", "TEST_OPENAI_KEY",
                "--out", str(tmp_path / "out"),
            ],  # fmt: skip
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=480,
        )
        chat = server.chat_requests()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # The secrets were really in use: the server got the key on every request.
    assert len(chat) == 6
    assert all(r["headers"]["Authorization"] == f"Bearer {SENTINELS['API key']}" for r in chat)

    assert _leaks(done.stdout + done.stderr) == []
    # The signing key was really in use: the manifest's signature is the one it makes.
    check = check_folder(tmp_path / "out", SENTINELS["report signing key"])
    assert check.intact and "signature: valid" in check.notes
    # Every file: report, CSVs, $DAGSTER_HOME (partition logs, compute logs, anything else).
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "sim.yaml"]
    assert (tmp_path / "out" / "report.html") in written
    assert any(p.is_relative_to(home / "logs") for p in written)
    for path in written:
        if path.name != "dagster.yaml":  # the instance config names the env vars, no values
            assert _leaks(path.read_text(errors="replace")) == [], path
    # Every row Dagster (runs, run config, tags, event log) or Beacon stored, in both databases.
    instance_dump = _dump_database(database_url(instance_db))
    store_dump = _dump_database(database_url(store_db))
    assert "secrets" in instance_dump and "beacon_executions" in store_dump
    # Run config is in there, and holds the key's variable name, not its value.
    assert "TEST_OPENAI_KEY" in instance_dump
    assert _leaks(instance_dump) == [] and _leaks(store_dump) == []
