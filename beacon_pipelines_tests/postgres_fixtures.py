"""A real Postgres for these tests: a fresh database per use, dropped at the end of the session.

The server is 127.0.0.1:5432, user postgres (override with BEACON_TEST_POSTGRES_URL, an admin
URL). Unreachable: every test here skips, loudly; with BEACON_REQUIRE_POSTGRES=1 (CI) it fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from beacon_pipelines_tests.conftest import PROJECT_DIR

ADMIN_URL = os.environ.get(
    "BEACON_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
POSTGRES_INSTANCE_YAML = PROJECT_DIR / "deploy" / "dagster.postgres.yaml"


def _admin_engine() -> sa.Engine:
    # AUTOCOMMIT: CREATE/DROP DATABASE cannot run inside a transaction.
    return sa.create_engine(
        ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    engine = _admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        reason = (
            f"POSTGRES NOT REACHABLE at {engine.url.render_as_string(hide_password=True)} "
            f"({' '.join(str(exc.orig).split())}): the Postgres tests did not run"
        )
        if os.environ.get("BEACON_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason}, and BEACON_REQUIRE_POSTGRES=1 requires them", pytrace=False)
        pytest.skip(f"{reason}; set BEACON_REQUIRE_POSTGRES=1 to make this a failure")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def new_database(pg_admin) -> Iterator[Callable[[], str]]:
    """Create a fresh database, return its name; every one is dropped after the session."""
    session = secrets.token_hex(4)
    created: list[str] = []

    def create() -> str:
        name = f"beacon_test_{session}_{len(created)}"
        with pg_admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))  # noqa: S608 - generated name
        created.append(name)
        return name

    yield create
    with pg_admin.connect() as conn:
        for name in created:
            # FORCE: a test that failed mid-audit may leave connections behind.
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))  # noqa: S608


def database_url(name: str, password: str | None = None) -> str:
    url = sa.engine.make_url(ADMIN_URL).set(database=name)
    if password is not None:
        url = url.set(password=password)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def pg_url(new_database) -> str:
    """A fresh, empty database for the execution store."""
    return database_url(new_database())


def postgres_home(home: Path, db_name: str, password: str = "unused-under-trust") -> dict:
    """A DAGSTER_HOME whose dagster.yaml is deploy/dagster.postgres.yaml, and the environment
    variables it reads (as README "Postgres" says to set them)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(POSTGRES_INSTANCE_YAML, home / "dagster.yaml")
    url = sa.engine.make_url(ADMIN_URL)
    port = url.port or 5432
    if port != 5432:  # the example pins the default port
        text = (home / "dagster.yaml").read_text().replace("port: 5432", f"port: {port}")
        (home / "dagster.yaml").write_text(text)
    return {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_USERNAME": url.username or "postgres",
        "DAGSTER_PG_PASSWORD": password,
        "DAGSTER_PG_HOST": url.host or "127.0.0.1",
        "DAGSTER_PG_DB": db_name,
    }


def terminate_connections(pg_admin: sa.Engine, db_name: str) -> int:
    """pg_terminate_backend on every connection to `db_name`: what a server restart or a
    failover does to clients. Returns how many were cut."""
    with pg_admin.connect() as conn:
        return len(
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": db_name},
            ).all()
        )
