"""One worker per (audit, model, region) at a time: a lease in the execution store.

Before a partition calls the backend it takes the lease of its (audit, model, region). A second
worker for the same partition (the same audit launched twice, a UI re-run during a CLI audit)
waits until the lease is free, then reads the store again, so it reuses every stored answer
instead of asking (and paying for) it twice. A lease whose holder died is taken over: at once
when the holder was a process on this host that no longer exists (a SIGKILL never blocks a
resume), else when it has not been renewed for `stale_after_s` (another host). The holder
renews it from a background thread while the backend works.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from beacon_pipelines.store import ExecutionStore
from beacon_pipelines.worker_process import process_exists

RENEW_EVERY_S = 10.0
STALE_AFTER_S = 60.0
POLL_S = 0.5


class PartitionBusyError(RuntimeError):
    """Another live worker holds the partition for longer than this one may wait."""


def holder_is_dead(held: dict, now: float, stale_after_s: float) -> bool:
    if held["host"] == socket.gethostname() and not process_exists(held["pid"]):
        return True
    return now - held["renewed_at"] > stale_after_s


def _describe(held: dict) -> str:
    run = f"run {held['run_id'][:8]}, " if held.get("run_id") else ""
    return f"{run}pid {held['pid']} on {held['host']}"


@contextmanager
def partition_lease(
    store: ExecutionStore,
    audit_id: str,
    model: str,
    region: str,
    *,
    run_id: str | None = None,
    wait_s: float = 3600.0,
    stale_after_s: float = STALE_AFTER_S,
    renew_every_s: float = RENEW_EVERY_S,
    poll_s: float = POLL_S,
    clock: Callable[[], float] = time.time,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the partition's lease for the duration of the block (see the module docstring)."""
    now = clock()
    row = {
        "audit_id": audit_id,
        "model": model,
        "region": region,
        "holder": uuid.uuid4().hex,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "run_id": run_id,
        "acquired_at": now,
        "renewed_at": now,
    }
    deadline = time.monotonic() + wait_s
    said = False
    while (held := store.claim_lease(row)) is not None:
        if holder_is_dead(held, clock(), stale_after_s):
            if store.claim_lease(row, replaces=held["holder"]) is None:
                break
            continue
        if time.monotonic() > deadline:
            since = time.strftime("%H:%M:%S UTC", time.gmtime(held["acquired_at"]))
            raise PartitionBusyError(
                f"partition ({model}, {region}) of audit {audit_id!r} is being answered by "
                f"{_describe(held)} since {since}; waited {wait_s:.0f} s. Re-run with "
                f"--audit-id {audit_id} once it ends: every stored answer is reused"
            )
        if on_wait is not None and not said:
            on_wait(f"waiting for {_describe(held)}, which is answering this partition")
            said = True
        time.sleep(poll_s)
    stop = threading.Event()
    renewer = threading.Thread(
        target=_renew, args=(store, row, stop, renew_every_s, clock), daemon=True,
        name=f"beacon-lease-{model}-{region}",
    )
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        store.release_lease(row)


def _renew(store, row, stop: threading.Event, every_s: float, clock) -> None:
    while not stop.wait(every_s):
        try:
            store.renew_lease(row, clock())
        except Exception:  # a missed renewal only risks a takeover once stale
            pass
