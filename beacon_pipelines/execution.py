"""Run one partition of an audit: ask the backend what is still pending, persist every answer.

Pure domain code: the Dagster asset hands it a store, a backend and the partition, and turns
the outcome into metadata and a success or a (retryable or permanent) failure.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from beacon_pipelines.backend_calls import StoreCallLedger
from beacon_pipelines.backends.base import (
    ErrorKind,
    GenerationParams,
    InferenceBackend,
    InferenceRequest,
    InferenceResult,
)
from beacon_pipelines.backends.batches import DEFAULT_BATCH_SIZE, CallBatch, call_in_batches
from beacon_pipelines.backends.call_ledger import CallTrackingBackend
from beacon_pipelines.backends.receipt import REGION_VERIFIED, UNVERIFIED
from beacon_pipelines.catalog import Catalog
from beacon_pipelines.partition_lease import partition_lease
from beacon_pipelines.plan import AuditPlan, ExecutionKey
from beacon_pipelines.region_verification import verify_served_region
from beacon_pipelines.store import ExecutionStore


def failover_region(requested: str, retry_number: int, order: Sequence[str]) -> str:
    """The region a retry is sent to: the next one after the requested region in `order`.

    Retry 0 (the first attempt) goes to the requested region itself; each retry moves one
    step along the failover order, wrapping around. A region missing from the order fails
    over to the order's first region, then the next.
    """
    if retry_number == 0 or not order:
        return requested
    if requested not in order:
        return order[(retry_number - 1) % len(order)]
    start = order.index(requested)
    return order[(start + retry_number) % len(order)]


@dataclass
class PartitionOutcome:
    audit_id: str
    model: str
    region: str
    target_region: str
    planned: int
    reused: int  # succeeded before this call: never sent again
    results: list[InferenceResult] = field(default_factory=list)

    @property
    def succeeded(self) -> int:
        return sum(1 for r in self.results if r.ok)

    @property
    def failures(self) -> list[InferenceResult]:
        return [r for r in self.results if not r.ok]

    @property
    def complete(self) -> bool:
        return self.reused + self.succeeded == self.planned

    @property
    def permanent_failures(self) -> list[InferenceResult]:
        return [r for r in self.failures if r.error_kind is not None and not r.error_kind.retryable]

    def latency_summary(self) -> dict[str, float]:
        latencies = sorted(r.latency_s for r in self.results if r.ok)
        if not latencies:
            return {}
        p95_index = max(0, round(0.95 * len(latencies)) - 1)
        return {
            # Milliseconds are all a latency figure can carry; more digits are clock noise.
            "latency_p50_s": round(statistics.median(latencies), 3),
            "latency_p95_s": round(latencies[p95_index], 3),
            "latency_max_s": round(latencies[-1], 3),
        }

    def served_regions(self) -> dict[str, int]:
        return dict(Counter(r.served_region for r in self.results if r.ok and r.served_region))

    def region_verdicts(self) -> dict[str, int]:
        """Answers and mismatches by region verdict: yes, no, unverified."""
        return dict(Counter(r.extra.get(REGION_VERIFIED, UNVERIFIED) for r in self.results
                            if r.ok or r.error_kind is ErrorKind.REGION_MISMATCH))

    def error_counts(self) -> dict[str, int]:
        return dict(Counter(r.error_kind.value for r in self.failures if r.error_kind))


def partition_requests(
    catalog: Catalog,
    plan: AuditPlan,
    model: str,
    region: str,
    target_region: str,
    attempts: dict[ExecutionKey, tuple[int, bool]],
) -> tuple[list[InferenceRequest], int]:
    """The requests still pending for (model, region), and how many already succeeded."""
    model_def = catalog.model(model)
    params = GenerationParams(
        temperature=catalog.generation.temperature,
        max_new_tokens=catalog.generation.max_new_tokens,
    )
    requests: list[InferenceRequest] = []
    reused = 0
    for question_id in plan.questions:
        # The requested region's language and prompt even when served elsewhere: the answer is
        # its answer.
        asked = catalog.asked(question_id, region)
        for sample in range(plan.samples):
            last_attempt, succeeded = attempts.get((model, region, question_id, sample), (0, False))
            if succeeded:
                reused += 1
                continue
            requests.append(
                InferenceRequest(
                    audit_id=plan.audit_id,
                    model_id=model,
                    hf_id=model_def.hf_id,
                    question_id=question_id,
                    question=asked.question,
                    system_prompt=asked.system_prompt,
                    params=params,
                    requested_region=region,
                    target_region=target_region,
                    sample=sample,
                    attempt=last_attempt + 1,
                    language=asked.language,
                )
            )
    return requests, reused


def run_partition(
    store: ExecutionStore,
    backend: InferenceBackend,
    catalog: Catalog,
    plan: AuditPlan,
    model: str,
    region: str,
    target_region: str | None = None,
    run_id: str | None = None,
    on_result: Callable[[InferenceResult], None] | None = None,
    lease_wait_s: float = 3600.0,
    on_wait: Callable[[str], None] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> PartitionOutcome:
    """Answer what is pending for (model, region), holding the partition's lease throughout:
    a second worker of the same partition waits, then finds the answers stored.

    The requests go to the backend `batch_size` at a time (backends/batches.py); each batch's
    attempts are stored in one transaction as soon as its call ends, so a crash or a failover
    loses at most the batch in flight."""
    with partition_lease(
        store, plan.audit_id, model, region, run_id=run_id, wait_s=lease_wait_s, on_wait=on_wait
    ):
        return _answer_pending(
            store, backend, catalog, plan, model, region, target_region, run_id, on_result,
            batch_size,
        )


def _answer_pending(
    store, backend, catalog, plan, model, region, target_region, run_id, on_result, batch_size
) -> PartitionOutcome:
    target = target_region or region
    attempts = store.attempts_so_far(plan.audit_id, model, region)
    requests, reused = partition_requests(catalog, plan, model, region, target, attempts)
    outcome = PartitionOutcome(
        audit_id=plan.audit_id,
        model=model,
        region=region,
        target_region=target,
        planned=len(requests) + reused,
        reused=reused,
    )
    if not requests:
        return outcome
    if isinstance(backend, CallTrackingBackend):
        ledger = StoreCallLedger(store, plan.audit_id, model, region, backend.name, run_id)
        batches = backend.generate_batches(requests, ledger, batch_size)
    else:
        batches = call_in_batches(backend, requests, batch_size)
    for batch in batches:
        results = _batch_attempts(batch, catalog)
        store.record_many(results, backend.name, run_id)
        outcome.results.extend(results)
        if on_result is not None:
            for result in results:
                on_result(result)
        if batch.error is not None:
            break  # the later batches stay pending: the retry sends them to the next region
    return outcome


def _batch_attempts(batch: CallBatch, catalog: Catalog) -> list[InferenceResult]:
    """Every attempt of one batch: its results, region-checked, and, when the whole call
    failed, a failure for each request it did not answer."""
    results = [verify_served_region(r, catalog) for r in batch.results]
    if batch.error is not None:
        answered = {r.request.key for r in results}
        now = time.time()
        exc = batch.error
        results += [
            InferenceResult.failure(
                request, exc.kind, str(exc), started_at=now, finished_at=now, extra=exc.extra
            )
            for request in batch.requests
            if request.key not in answered
        ]
    return results
