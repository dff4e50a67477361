"""A partition's requests go to the backend in batches of a configurable size.

A 2,000-question audit neither builds one giant request (one Modal payload of 10,000 prompts,
all lost if the call fails) nor makes one call per question (a cold start, a round trip and
a store transaction each). Each batch is one backend call, its answers are stored together in
one transaction, and a batch whose whole call fails stops the partition there: the batches
not yet sent stay pending for the retry, which fails over to the next region.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from beacon_pipelines.backends.base import (
    BackendError,
    InferenceBackend,
    InferenceRequest,
    InferenceResult,
)

# Prompts per backend call. One Modal payload of 250 short prompts is ~150 KB, and vLLM
# keeps a GPU busy with it; an OpenAI-compatible server gets them `concurrency` at a time.
DEFAULT_BATCH_SIZE = 250
MAX_BATCH_SIZE = 10_000


@dataclass
class CallBatch:
    """One backend call's requests and what came back. `error`: the whole call failed (the
    requests without a result failed with it), and no further batch was sent."""

    requests: list[InferenceRequest]
    results: list[InferenceResult] = field(default_factory=list)
    error: BackendError | None = None


def check_batch_size(size: int) -> int:
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch size must be an integer in [1, {MAX_BATCH_SIZE}], got {size!r}")
    return size


def chunked(requests: Sequence[InferenceRequest], size: int) -> list[list[InferenceRequest]]:
    check_batch_size(size)
    return [list(requests[i : i + size]) for i in range(0, len(requests), size)]


def call_in_batches(
    backend: InferenceBackend, requests: Sequence[InferenceRequest], size: int
) -> Iterator[CallBatch]:
    """One `backend.generate` per batch, in order; stops after a batch whose call failed."""
    for chunk in chunked(requests, size):
        batch = CallBatch(chunk)
        try:
            for result in backend.generate(chunk):
                batch.results.append(result)
        except BackendError as exc:
            batch.error = exc
        yield batch
        if batch.error is not None:
            return
