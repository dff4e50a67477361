"""Modal's published prices, for the cost estimate of an audit. Check them before budgeting.

Source: https://modal.com/pricing (GPU rates, billed per second while a container runs) and
https://modal.com/docs/guide/region-selection (a 1.25x multiplier on functions pinned to a
US, EU, UK or AP region, as every Beacon class is). Rates as published on 2026-07-01.
CPU and memory are billed on top and are left out: for one GPU container they are small
next to the GPU.
"""

PRICES_AS_OF = "2026-07-01"
PRICE_SOURCE = "https://modal.com/pricing"

# USD per GPU-second.
GPU_USD_PER_SECOND: dict[str, float] = {
    "T4": 0.000164,
    "L4": 0.000222,
    "A10G": 0.000306,  # listed as "A10" today
    "L40S": 0.000542,
    "A100": 0.000583,  # 40 GB
    "A100-80GB": 0.000694,
    "H100": 0.001097,
}

PINNED_REGION_MULTIPLIER = 1.25


def usd_per_second(gpu: str) -> float:
    try:
        return GPU_USD_PER_SECOND[gpu] * PINNED_REGION_MULTIPLIER
    except KeyError:
        known = ", ".join(GPU_USD_PER_SECOND)
        raise KeyError(f"no published price for GPU {gpu!r} (known: {known})") from None
