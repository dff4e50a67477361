"""Wilson score intervals: how sure a rate is, given how many answers it rests on."""

from __future__ import annotations

import numpy as np

Z95 = 1.959963984540054  # two-sided 95 %


def wilson_interval(successes, n, z: float = Z95):
    """(low, high) of the Wilson score interval; arrays in, arrays out; n == 0 gives (0, 1).

    Unlike the normal approximation it stays inside [0, 1] and is honest at 0 % and 100 %,
    which is where refusal rates of a few samples usually sit.
    """
    k = np.asarray(successes, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    safe = np.where(n_arr > 0, n_arr, 1.0)
    p = k / safe
    denom = 1 + z * z / safe
    centre = (p + z * z / (2 * safe)) / denom
    half = z * np.sqrt(p * (1 - p) / safe + z * z / (4 * safe * safe)) / denom
    # Exact at the ends (0 of n, n of n), where rounding would leave 1e-16 off.
    low = np.where((n_arr > 0) & (k > 0), np.clip(centre - half, 0.0, 1.0), 0.0)
    high = np.where((n_arr > 0) & (k < n_arr), np.clip(centre + half, 0.0, 1.0), 1.0)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high
