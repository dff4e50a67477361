"""Calls that may still answer after their client deadline, and the backends that keep them.

A Modal call keeps running on its GPU after Beacon stops waiting for it. Its id is written to
the ledger before Beacon waits on it, so the partition's next attempt (a retry, a resume after
a crash) can collect the reply it already paid for instead of calling, and paying, again.
The store keeps the ledger (backend_calls.py); a backend only sees this interface.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from beacon_pipelines.backends.base import InferenceRequest
from beacon_pipelines.backends.batches import CallBatch

# How a call left the ledger.
COLLECTED = "collected"  # its reply was read (on time or late)
FAILED = "failed"  # it ended with an error, or its reply expired at the backend
CANCELLED = "cancelled"  # cancelled: past its budget, or nobody could collect its reply
SUPERSEDED = "superseded"  # every answer it was asked for is stored: cancelled, never needed


@dataclass(frozen=True)
class OpenCall:
    call_id: str
    target_region: str  # where it runs: a reply collected later was served there
    keys: tuple[tuple[str, int], ...]  # the (question_id, sample) it was asked
    spawned_at: float
    budget_until: float  # until then it may still be running: never cancelled before


class CallLedger(Protocol):
    """One partition's (audit, model, region) calls."""

    def open_calls(self) -> list[OpenCall]: ...  # oldest first

    def call_started(self, call: OpenCall) -> None: ...

    def call_closed(self, call_id: str, outcome: str) -> None: ...


@runtime_checkable
class CallTrackingBackend(Protocol):
    """A backend whose calls outlive their deadline: it is given the partition's ledger, and
    the partition's whole pending list with the batch size, so that late replies are
    collected, and calls retired, for the partition rather than for one batch."""

    name: str

    def generate_batches(
        self, requests: Sequence[InferenceRequest], ledger: CallLedger, batch_size: int
    ) -> Iterator[CallBatch]: ...
