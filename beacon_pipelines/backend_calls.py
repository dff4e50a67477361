"""The call ledger of one partition, kept in the execution store (see backends/call_ledger.py).

A row is written when a call starts, before anyone waits on it, so a crash or a deadline
never loses the id of a call that is still running and will be billed.
"""

from __future__ import annotations

import json
import time

from beacon_pipelines.backends.call_ledger import OpenCall
from beacon_pipelines.store import ExecutionStore


class StoreCallLedger:
    def __init__(
        self,
        store: ExecutionStore,
        audit_id: str,
        model: str,
        region: str,
        backend: str,
        run_id: str | None = None,
        clock=time.time,
    ):
        self.store = store
        self.partition = {"audit_id": audit_id, "model": model, "region": region}
        self.backend = backend
        self.run_id = run_id
        self._clock = clock

    def open_calls(self) -> list[OpenCall]:
        return [
            OpenCall(
                call_id=row["call_id"],
                target_region=row["target_region"],
                keys=tuple((q, int(s)) for q, s in json.loads(row["keys"])),
                spawned_at=row["spawned_at"],
                budget_until=row["budget_until"],
            )
            for row in self.store.open_calls(**self.partition)
        ]

    def call_started(self, call: OpenCall) -> None:
        self.store.record_call(
            {
                **self.partition,
                "call_id": call.call_id,
                "backend": self.backend,
                "target_region": call.target_region,
                "keys": json.dumps([list(k) for k in call.keys]),
                "spawned_at": call.spawned_at,
                "budget_until": call.budget_until,
                "state": "open",
                "run_id": self.run_id,
            }
        )

    def call_closed(self, call_id: str, outcome: str) -> None:
        self.store.close_call(call_id, outcome, self._clock())
