"""A large synthetic audit's executions, shaped as the execution store returns them.

The default catalog (3 models x 3 regions x 8 questions) asked `samples` times, answered by the
simulated backend (its regional behaviour: refusals, evasions, regional narratives), with every
answer made distinct by a sample-specific sentence (the worst case for an analysis that
classifies and vectorises each distinct text once), and a share of executions failing once
and succeeding on a retry in the next region (failover).
"""

from __future__ import annotations

import hashlib
import random

import pandas as pd

from beacon_pipelines.backends.base import GenerationParams, InferenceRequest
from beacon_pipelines.backends.simulated import SimulatedBackend
from beacon_pipelines.catalog import Catalog, load_catalog
from beacon_pipelines.store import EXECUTION_COLUMNS

WORDS = (
    "history policy people government report sources context debate economy culture region "
    "century events public media record law reform trade security dialogue rights community "
    "analysis evidence archive witness statement estimate perspective tradition future"
).split()
RETRY_SHARE = 0.03


def _requests(catalog: Catalog, audit_id: str, samples: int) -> list[InferenceRequest]:
    params = GenerationParams(
        temperature=catalog.generation.temperature,
        max_new_tokens=catalog.generation.max_new_tokens,
    )
    return [
        InferenceRequest(
            audit_id=audit_id,
            model_id=model.id,
            hf_id=model.hf_id,
            question_id=question.id,
            question=question.text,
            system_prompt=catalog.asked(question.id, region).system_prompt,
            params=params,
            requested_region=region,
            target_region=region,
            sample=sample,
        )
        for model in catalog.models
        for region in catalog.region_ids
        for question in catalog.questions
        for sample in range(samples)
    ]


def synthetic_executions(
    executions: int = 100_000, audit_id: str = "synthetic", seed: int = 7
) -> tuple[pd.DataFrame, Catalog]:
    """At least `executions` executions (rounded up to whole samples) and the catalog: the
    packaged one with the original 8 questions, the figures' shape since before Beacon's own
    question set."""
    catalog = load_catalog()
    original = catalog.questions_in(["control", "bias_detection", "cultural_perspective"])
    catalog = catalog.model_copy(
        update={"questions": tuple(catalog.question(q) for q in original)}
    )
    per_sample = len(catalog.models) * len(catalog.region_ids) * len(catalog.questions)
    samples = -(-executions // per_sample)
    rng = random.Random(seed)
    backend = SimulatedBackend()
    regions = catalog.region_ids
    rows = []
    now = 1_800_000_000.0
    by_call: dict[tuple[str, str], list[InferenceRequest]] = {}
    for request in _requests(catalog, audit_id, samples):
        by_call.setdefault((request.model_id, request.target_region), []).append(request)
    for batch in by_call.values():
        for result in backend.generate(batch):
            req = result.request
            text = f"{result.text} {' '.join(rng.choices(WORDS, k=6))} ({req.sample})."
            attempt = 1
            if rng.random() < RETRY_SHARE:
                rows.append(_row(req, 1, None, "failed", None, "unavailable", now))
                attempt = 2
            served = req.requested_region
            if attempt == 2:
                served = regions[(regions.index(served) + 1) % len(regions)]
            rows.append(_row(req, attempt, served, "succeeded", text, None, now))
    frame = pd.DataFrame(rows, columns=EXECUTION_COLUMNS)
    return frame, catalog


def _row(req, attempt, served, status, text, error, now) -> dict:
    return {
        "audit_id": req.audit_id,
        "model": req.model_id,
        "region": req.requested_region,
        "question_id": req.question_id,
        "sample": req.sample,
        "attempt": attempt,
        "requested_region": req.requested_region,
        "served_region": served,
        "status": status,
        "started_at": now,
        "finished_at": now + 1.0,
        "latency_s": 1.0,
        "response": text,
        "error_type": error,
        "error_message": "region down (synthetic)" if error else None,
        "response_sha256": hashlib.sha256(text.encode()).hexdigest() if text else None,
        "backend": "simulated",
        "simulated": True,
        "prompt_tokens": 40,
        "completion_tokens": len(text.split()) if text else None,
        "run_id": None,
    }
