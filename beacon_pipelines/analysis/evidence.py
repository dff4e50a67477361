"""Is a difference between regions evidence at this audit's sample size, and if not, how many
samples would decide it?

A region's withheld share is k of n answers; two regions differ *significantly* when their
Wilson 95 % intervals do not overlap (a conservative test: non-overlap implies p < 0.05 in a
two-proportion test, not the converse). A whole split (n of n withheld against 0 of n) needs
n >= 4 samples per region: below that, even the starkest split is not evidence.
"""

from __future__ import annotations

import math

from beacon_pipelines.analysis.intervals import wilson_interval

MAX_SAMPLES_SEARCHED = 1000  # beyond this "more than 1000": the difference is too small to chase


def intervals_apart(k_high: float, n_high: float, k_low: float, n_low: float) -> bool:
    """True when the Wilson interval of k_high/n_high lies wholly above that of k_low/n_low."""
    low_of_high, _ = wilson_interval(k_high, n_high)
    _, high_of_low = wilson_interval(k_low, n_low)
    return bool(low_of_high > high_of_low)


def samples_needed(share_high: float, share_low: float) -> int | None:
    """The fewest samples per region at which these two shares, if they held, would have
    non-overlapping intervals; None when more than MAX_SAMPLES_SEARCHED would be needed."""
    if share_high <= share_low:
        return None
    lo, hi = 1, MAX_SAMPLES_SEARCHED
    if not _apart_at(share_high, share_low, hi):
        return None
    # Non-overlap is monotone in n for fixed shares (intervals shrink as 1/sqrt(n)).
    while lo < hi:
        mid = (lo + hi) // 2
        if _apart_at(share_high, share_low, mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _apart_at(share_high: float, share_low: float, n: int) -> bool:
    # Counts a region of n samples would show (rounded towards less difference).
    return intervals_apart(math.floor(share_high * n), n, math.ceil(share_low * n), n)


def withheld_mostly(withheld: float, n: float) -> bool:
    """Significantly more than half of n answers withheld: the Wilson interval lies above 0.5."""
    low, _ = wilson_interval(withheld, n)
    return bool(low > 0.5)


def samples_needed_mostly(share: float, regions: int) -> int | None:
    """The fewest samples per region at which a withheld share `share`, pooled over `regions`
    regions, would be significantly more than half; None when more than MAX_SAMPLES_SEARCHED."""
    if share <= 0.5:
        return None
    for n in range(1, MAX_SAMPLES_SEARCHED + 1):
        total = n * max(regions, 1)
        if withheld_mostly(math.floor(share * total), total):
            return n
    return None
