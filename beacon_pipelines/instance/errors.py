"""Why the Dagster instance cannot be opened, in one line (an unset credential variable, an
unreachable Postgres), instead of a configuration traceback."""

from __future__ import annotations

import re
from pathlib import Path


class InstanceUnavailableError(RuntimeError):
    """The instance in $DAGSTER_HOME cannot be opened; the message says why."""


_UNSET_ENV = re.compile(r'environment variable "([^"]+)" which is not set')


def instance_errors() -> tuple[type[BaseException], ...]:
    """The exceptions opening a misconfigured or unreachable instance raises."""
    from dagster import DagsterInvalidConfigError
    from sqlalchemy.exc import OperationalError

    errors: tuple[type[BaseException], ...] = (DagsterInvalidConfigError, OperationalError)
    try:
        from dagster_postgres.utils import DagsterPostgresException
    except ImportError:  # dagster-postgres is a dependency, but the SQLite path needs none of it
        return errors
    return (*errors, DagsterPostgresException)


def explain(exc: BaseException, home: Path) -> InstanceUnavailableError:
    where = f"cannot open the Dagster instance configured in {home / 'dagster.yaml'}"
    text = str(exc)
    for error in getattr(exc, "errors", None) or []:
        text += " " + str(getattr(error, "message", error))
    unset = _UNSET_ENV.search(text)
    if unset:
        return InstanceUnavailableError(
            f"{where}: environment variable {unset.group(1)} is not set"
        )
    cause = exc.__cause__ or exc
    reason = " ".join(str(getattr(cause, "orig", None) or cause).split())
    # Driver messages name host, port and database, never the password.
    return InstanceUnavailableError(f"{where}: {reason}")
