"""GPU-seconds of an audit: one batched backend call per partition vs one call per question.

Both layouts go through the real execution path (`run_partition`: pending requests from the
store, the simulated backend's latency model, every answer recorded) with real sleeps, time-
scaled so the case runs in seconds. GPU time is what the backend actually slept: the time a
container is busy (cold start, then its answers).

Latency model: cold start 30 s per container, 0.02 s per token, 300 tokens per answer (the
per-token time is set so the simulated answers, shorter than 300 tokens, cost as much as 300
tokens each). Batched: one container per partition answers its questions in one call. Per
question: every question is its own call, as the old stack sent them; `cold` gives each call
a container of its own (a new job each), `warm` lets one container serve a partition's calls.
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

from beacon_pipelines.backends.simulated import Latency, SimConfig, SimulatedBackend
from beacon_pipelines.catalog import Catalog, load_catalog
from beacon_pipelines.execution import run_partition
from beacon_pipelines.plan import AuditPlan
from beacon_pipelines.store import ExecutionStore

COLD_START_S = 30.0
PER_TOKEN_S = 0.02
TOKENS_PER_ANSWER = 300


class GpuClock:
    """The backend's sleep: sleeps for real and adds up the time actually slept."""

    def __init__(self):
        self.busy_s = 0.0

    def __call__(self, seconds: float) -> None:
        started = time.perf_counter()
        time.sleep(seconds)
        self.busy_s += time.perf_counter() - started


def _mean_answer_tokens(catalog: Catalog, plan: AuditPlan) -> float:
    """Mean completion tokens of the simulated answers of this audit (no latency)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = ExecutionStore(f"sqlite:///{Path(tmp) / 'probe.db'}").create()
        store.register_audit(plan)
        tokens = []
        for model in plan.models:
            for region in plan.regions:
                outcome = run_partition(store, SimulatedBackend(), catalog, plan, model, region)
                tokens += [r.completion_tokens for r in outcome.results]
        store.dispose()
    return statistics.fmean(tokens)


def measure(scale: float = 1 / 500) -> dict[str, float]:
    """GPU-seconds (scaled back to real seconds) of each layout over one whole audit."""
    catalog = load_catalog()
    plan = AuditPlan(
        audit_id="batching",
        catalog_sha256=catalog.sha256(),
        backend="simulated",
        models=tuple(catalog.model_ids),
        regions=tuple(catalog.region_ids),
        # The original 8 questions: the figures' size since before Beacon's own question set.
        questions=tuple(
            catalog.questions_in(["control", "bias_detection", "cultural_perspective"])
        ),
    )
    per_token = PER_TOKEN_S * TOKENS_PER_ANSWER / _mean_answer_tokens(catalog, plan)
    config = SimConfig(
        latency=Latency(cold_start_s=COLD_START_S * scale, per_token_s=per_token * scale)
    )
    busy = {}
    with tempfile.TemporaryDirectory() as tmp:
        for layout in ("batched", "per_question_cold", "per_question_warm"):
            store = ExecutionStore(f"sqlite:///{Path(tmp) / f'{layout}.db'}").create()
            store.register_audit(plan)
            clock = GpuClock()
            for model in plan.models:
                for region in plan.regions:
                    container = SimulatedBackend(config, sleep=clock)
                    if layout == "batched":
                        run_partition(store, container, catalog, plan, model, region)
                        continue
                    for question in plan.questions:
                        if layout == "per_question_cold":
                            container = SimulatedBackend(config, sleep=clock)
                        one = dataclasses.replace(plan, questions=(question,))
                        run_partition(store, container, catalog, one, model, region)
            store.dispose()
            busy[layout] = clock.busy_s / scale
    return busy


if __name__ == "__main__":
    print(measure())
