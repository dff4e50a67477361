"""One contender in the store-creation race: a spawned process (not forked: forking a test
process that already runs threads can deadlock the child) that waits for the others."""

from __future__ import annotations


def create_at_once(url: str, barrier) -> str:
    from beacon_pipelines.store import ExecutionStore

    engine_ready = ExecutionStore(url)
    barrier.wait(timeout=120)
    try:
        engine_ready.create().dispose()
        return "ok"
    except Exception as exc:  # reported to the test, which shows it
        return f"{type(exc).__name__}: {exc}"
