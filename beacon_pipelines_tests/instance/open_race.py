"""One contender in the instance-creation race: a spawned pool worker (not forked: forking a
test process that already runs threads can deadlock the child) that opens a fresh instance
the way `beacon audit` does, at the same moment as the others."""

from __future__ import annotations

import os


def import_beacon() -> None:
    """Pool initializer: the imports happen before the race, so the barrier lines up the opens."""
    import beacon_pipelines.cli.audit_runner  # noqa: F401
    import beacon_pipelines.defs.gpu_pool  # noqa: F401


def open_at_once(home: str, barrier) -> str:
    """What `beacon audit` does to the instance before its workers start: make the home (and
    link dagster.yaml in), then open the instance."""
    from beacon_pipelines.cli.audit_runner import open_instance
    from beacon_pipelines.instance.home import ensure_dagster_home

    os.environ["DAGSTER_HOME"] = home
    barrier.wait(timeout=120)
    try:
        instance, _free = open_instance(ensure_dagster_home(), None, lambda _line: None)
        instance.dispose()
        return "ok"
    except Exception as exc:  # reported to the test, which shows it
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
