"""The store `beacon executions` and `beacon report` read: an existing one, never a new one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from beacon_pipelines.instance.home import dagster_home
from beacon_pipelines.report.stored_audit import UnknownAuditError
from beacon_pipelines.store import display_store_url, resolve_store_url, store_exists


def existing_store_url(audit_id: str) -> str:
    """The URL of the store holding `audit_id`. Reading creates nothing: a typo'd id or a
    fresh folder must not leave a Dagster home and an empty database behind, so a SQLite
    store that is not there means the audit is unknown."""
    url = resolve_store_url(dagster_home())
    if not store_exists(url):
        raise UnknownAuditError(
            f"no audit {audit_id!r}: there is no execution store at {display_store_url(url)}"
        )
    return url


@contextmanager
def existing_instance() -> Iterator:
    """The Dagster instance of the home the store belongs to, opened to read runs and tag
    them; an instance that cannot be opened is one line (InstanceUnavailableError)."""
    from dagster import DagsterInstance

    from beacon_pipelines.instance.errors import explain, instance_errors

    home = dagster_home()
    os.environ["DAGSTER_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)  # a store outside the home (BEACON_STORE_URL)
    try:
        instance = DagsterInstance.get()
    except instance_errors() as exc:
        raise explain(exc, home) from None
    with instance:
        yield instance
