"""What an audit should cost on Modal: GPU-seconds per partition x the published price.

One partition is one container: it starts (cold start), answers its questions in batches of
`batch_size` (one vLLM batch per call, one call after another), then idles for the scaledown
window before Modal stops it; all three are billed.
The figures are assumptions, printed with the estimate; the ceiling is what one attempt costs
at most, when every call runs into its timeouts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from beacon_pipelines.backends.batches import DEFAULT_BATCH_SIZE
from beacon_pipelines.backends.modal.deployment import ModalDeploymentSpec
from beacon_pipelines.backends.modal.pricing import (
    PINNED_REGION_MULTIPLIER,
    PRICE_SOURCE,
    PRICES_AS_OF,
    usd_per_second,
)
from beacon_pipelines.plan import AuditPlan

COLD_START_S = 180.0  # weights already in the volume; the very first start also downloads them
DECODE_TOKENS_PER_S = 25.0  # per sequence while the batch decodes; a conservative T4-class rate


@dataclass(frozen=True)
class PartitionCost:
    model: str
    region: str
    gpus: tuple[str, ...]
    gpu_seconds: float
    usd: float  # on the first-preferred GPU
    usd_fallback: float  # on the dearest GPU of the list
    ceiling_usd: float


@dataclass(frozen=True)
class AuditCost:
    partitions: tuple[PartitionCost, ...]
    max_new_tokens: int
    generation_s: float  # per partition: every batch
    scaledown_s: float
    ceiling_s: float
    batches: int = 1  # calls per partition
    batch_size: int = DEFAULT_BATCH_SIZE

    @property
    def gpu_seconds(self) -> float:
        return sum(p.gpu_seconds for p in self.partitions)

    @property
    def usd(self) -> float:
        return sum(p.usd for p in self.partitions)

    @property
    def usd_fallback(self) -> float:
        return sum(p.usd_fallback for p in self.partitions)

    @property
    def ceiling_usd(self) -> float:
        return sum(p.ceiling_usd for p in self.partitions)


def estimate_audit_cost(
    spec: ModalDeploymentSpec,
    plan: AuditPlan,
    max_new_tokens: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> AuditCost:
    # A batch decodes its sequences together: it takes about as long as its longest answer.
    batches = max(1, math.ceil(len(plan.questions) * plan.samples / batch_size))
    generation_s = batches * math.ceil(max_new_tokens / DECODE_TOKENS_PER_S)
    partitions = []
    scaledown_s = ceiling_s = 0.0
    for model in plan.models:
        for region in plan.regions:
            options = spec.for_partition(model, region).options
            gpus = tuple(options["gpu"])
            scaledown_s = float(options["scaledown_window"])
            seconds = COLD_START_S + generation_s + scaledown_s
            ceiling_s = float(
                options["startup_timeout"]
                + batches * options["timeout"]
                + options["scaledown_window"]
            )
            dearest = max(usd_per_second(g) for g in gpus)
            partitions.append(
                PartitionCost(
                    model=model,
                    region=region,
                    gpus=gpus,
                    gpu_seconds=seconds,
                    usd=seconds * usd_per_second(gpus[0]),
                    usd_fallback=seconds * dearest,
                    ceiling_usd=ceiling_s * dearest,
                )
            )
    return AuditCost(
        tuple(partitions), max_new_tokens, generation_s, scaledown_s, ceiling_s, batches,
        batch_size,
    )


def format_cost(cost: AuditCost, plan: AuditPlan) -> str:
    answers = len(plan.questions) * plan.samples
    lines = [
        f"Cost estimate on Modal (GPU time only; prices of {PRICES_AS_OF} from {PRICE_SOURCE}, "
        f"x{PINNED_REGION_MULTIPLIER:g} for region-pinned classes):",
        f"  {'partition':<28} {'GPU (fallbacks)':<18} {'GPU-s':>7} {'USD':>8}",
    ]
    for p in cost.partitions:
        gpu = p.gpus[0] + (f" ({', '.join(p.gpus[1:])})" if len(p.gpus) > 1 else "")
        lines.append(
            f"  {p.model + ' / ' + p.region:<28} {gpu:<18} {p.gpu_seconds:>7,.0f} {p.usd:>8.2f}"
        )
    lines += [
        f"  total: {len(cost.partitions)} partitions, {cost.gpu_seconds:,.0f} GPU-seconds, "
        f"${cost.usd:.2f} (${cost.usd_fallback:.2f} if every container gets its dearest GPU)",
        f"  assumes per container: cold start {COLD_START_S:g} s, {answers} answers of up to "
        f"{cost.max_new_tokens} tokens in {cost.batches} batch(es) of up to {cost.batch_size}, "
        f"each decoding at {DECODE_TOKENS_PER_S:g} tokens/s ({cost.generation_s:g} s in all), "
        f"then {cost.scaledown_s:g} s "
        "idle before scale-down (billed; a run within that window reuses the container)",
        f"  ceiling per attempt, every call at its timeouts ({cost.ceiling_s:g} s per container): "
        f"${cost.ceiling_usd:.2f}; each retry can add as much",
    ]
    return "\n".join(lines)
