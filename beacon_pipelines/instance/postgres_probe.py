"""Fail fast, in one line, when the instance's Postgres cannot be reached.

dagster-postgres retries a failed connection with backoff before it raises: against a closed
port that was six WARNING lines and 15 s here before the one line saying why. One direct
connection with a short timeout, before Dagster opens the instance, says it at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from beacon_pipelines.instance.errors import InstanceUnavailableError

PROBE_TIMEOUT_S = 5


@dataclass(frozen=True)
class PostgresTarget:
    host: str
    port: int
    user: str | None
    password: str | None
    dbname: str | None
    params: tuple[tuple[str, str], ...] = ()


def probe_instance_postgres(home: Path, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Connect once to each Postgres the instance's dagster.yaml names; raise
    InstanceUnavailableError naming host:port (never the password) if one cannot be reached.
    Anything unreadable here (no file, bad YAML, an unset variable) is left to Dagster,
    whose own error says what it is."""
    try:
        config = yaml.safe_load((home / "dagster.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return
    for target in dict.fromkeys(postgres_targets(config)):  # each server once, in file order
        _connect(target, home, timeout_s)


def postgres_targets(config: object) -> Iterator[PostgresTarget]:
    """Every `postgres_db` or `postgres_url` in an instance config (run, event log, schedule
    storage, or `storage: postgres:`) whose values are all set."""
    if isinstance(config, list):
        for item in config:
            yield from postgres_targets(item)
    if not isinstance(config, dict):
        return
    for key, value in config.items():
        target = None
        if key == "postgres_db" and isinstance(value, dict):
            target = _from_fields(value)
        elif key == "postgres_url":
            target = _from_url(_resolve(value))
        if target is not None:
            yield target
        else:
            yield from postgres_targets(value)


def _resolve(value: object) -> object:
    """A config value with `{env: NAME}` read from the environment (None when unset)."""
    if isinstance(value, dict) and set(value) == {"env"}:
        return os.environ.get(str(value["env"])) or None
    return value


def _from_fields(fields: dict) -> PostgresTarget | None:
    values = {k: _resolve(v) for k, v in fields.items()}
    host, user, password, dbname = (
        values.get(k) for k in ("hostname", "username", "password", "db_name")
    )
    port = values.get("port", 5432)
    if not all(isinstance(v, (str, int)) for v in (host, user, password, dbname, port)):
        return None  # an unset variable: Dagster names it
    try:
        port = int(port)
    except ValueError:
        return None
    params = values.get("params") if isinstance(values.get("params"), dict) else {}
    pairs = tuple(sorted((str(k), str(v)) for k, v in params.items()))
    return PostgresTarget(str(host), port, str(user), str(password), str(dbname), pairs)


def _from_url(url: object) -> PostgresTarget | None:
    import sqlalchemy as sa

    if not isinstance(url, str):
        return None
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return None
    if not parsed.host:
        return None
    pairs = tuple(sorted((k, str(v)) for k, v in parsed.query.items()))
    return PostgresTarget(
        parsed.host, parsed.port or 5432, parsed.username, parsed.password, parsed.database, pairs
    )


def _connect(target: PostgresTarget, home: Path, timeout_s: float) -> None:
    try:
        import psycopg2
    except ImportError:  # dagster-postgres brings it; without it Dagster says so itself
        return
    try:
        conn = psycopg2.connect(
            host=target.host,
            port=target.port,
            user=target.user,
            password=target.password,
            dbname=target.dbname,
            connect_timeout=max(2, round(timeout_s)),  # libpq's floor is 2 s
            **dict(target.params),
        )
    except psycopg2.Error as exc:
        raise InstanceUnavailableError(
            f"cannot open the Dagster instance configured in {home / 'dagster.yaml'}: "
            f"Postgres at {target.host}:{target.port} (database {target.dbname}): {_reason(exc)}"
        ) from None
    conn.close()


def _reason(exc: BaseException) -> str:
    """libpq's first line, after its 'connection to server at ... failed:' preamble (the
    host and port are named already); libpq never puts the password in a message."""
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    first = lines[0]
    if "failed: " in first:
        first = first.split("failed: ", 1)[1]
    return " ".join(first.split())
