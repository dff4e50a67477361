"""One worker per (audit, model, region): the lease in the execution store."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter

import pytest

from beacon_pipelines.backends.simulated import SimulatedBackend
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.execution import run_partition
from beacon_pipelines.partition_lease import PartitionBusyError, partition_lease
from beacon_pipelines.plan import build_plan

CATALOG = load_catalog()


def _held_by(store, **fields) -> dict:
    row = {
        "audit_id": "a1", "model": "llama3.2-1b", "region": "US", "holder": "someone",
        "host": socket.gethostname(), "pid": 1, "run_id": "run-0001",
        "acquired_at": time.time(), "renewed_at": time.time(),
    }
    row.update(fields)
    assert store.claim_lease(row) is None
    return row


def test_a_second_holder_waits_until_the_first_releases(store):
    order = []
    first_in = threading.Event()

    def first():
        with partition_lease(store, "a1", "llama3.2-1b", "US", poll_s=0.01):
            first_in.set()
            order.append("first in")
            time.sleep(0.3)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with partition_lease(store, "a1", "llama3.2-1b", "US", poll_s=0.01):
        order.append("second in")
    thread.join()
    assert order == ["first in", "first out", "second in"]


def test_other_partitions_and_audits_do_not_wait(store):
    with partition_lease(store, "a1", "llama3.2-1b", "US", wait_s=0):
        with partition_lease(store, "a1", "llama3.2-1b", "EU", wait_s=0):
            with partition_lease(store, "a2", "llama3.2-1b", "US", wait_s=0):
                pass


def test_a_live_holder_past_the_wait_is_one_clear_error(store):
    import os

    _held_by(store, pid=os.getpid(), run_id="abcdef123456")
    with pytest.raises(PartitionBusyError) as caught:
        with partition_lease(store, "a1", "llama3.2-1b", "US", wait_s=0.05, poll_s=0.01):
            pass
    message = str(caught.value)
    assert "partition (llama3.2-1b, US) of audit 'a1' is being answered by run abcdef12" in message
    assert "--audit-id a1" in message


def test_a_dead_holder_on_this_host_is_taken_over_at_once(store):
    dead_pid = 2**22 + 12345  # above pid_max's default: no such process
    _held_by(store, pid=dead_pid)
    started = time.monotonic()
    with partition_lease(store, "a1", "llama3.2-1b", "US", wait_s=5):
        pass
    assert time.monotonic() - started < 1


def test_a_holder_elsewhere_is_taken_over_once_stale(store):
    _held_by(store, host="other-host", renewed_at=time.time() - 120)
    with partition_lease(store, "a1", "llama3.2-1b", "US", wait_s=0, stale_after_s=60):
        pass
    _held_by(store, host="other-host", renewed_at=time.time())
    with pytest.raises(PartitionBusyError):
        with partition_lease(store, "a1", "llama3.2-1b", "US", wait_s=0, stale_after_s=60):
            pass


def test_the_holder_renews_while_it_works(store):
    with partition_lease(store, "a1", "llama3.2-1b", "US", renew_every_s=0.05):
        time.sleep(0.3)
        with pytest.raises(PartitionBusyError):  # renewed, so never stale for another
            with partition_lease(
                store, "a1", "llama3.2-1b", "US", wait_s=0, stale_after_s=0.2
            ):
                pass


class CountingBackend(SimulatedBackend):
    """The simulated backend, slow enough to overlap, counting what it is asked."""

    def __init__(self):
        super().__init__()
        self.asked = Counter()
        self._lock = threading.Lock()

    def generate(self, requests):
        for request in requests:
            with self._lock:
                self.asked[request.key] += 1
            time.sleep(0.02)
            yield from super().generate([request])


def test_two_workers_of_one_partition_ask_each_question_once(store):
    plan = store.register_audit(build_plan(CATALOG, audit_id="same", backend="simulated"))
    backend = CountingBackend()
    outcomes = []

    def worker():
        outcomes.append(run_partition(store, backend, CATALOG, plan, "llama3.2-1b", "US"))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(outcome.complete for outcome in outcomes)
    assert len(backend.asked) == len(plan.questions) and set(backend.asked.values()) == {1}
    # One worker answered; the other found every answer stored.
    assert sorted(o.reused for o in outcomes) == [0, len(plan.questions)]
