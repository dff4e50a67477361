"""Was an answer really served inside the region it was sent to? Beacon's verdict per attempt.

The catalog maps each region to the cloud regions that count as inside it. An answer whose
server reports a cloud region outside that region is not the region's answer: it becomes a
failed attempt (region_mismatch, retryable, so the orchestrator retries and fails over as for
an outage) and is never analysed. An answer whose server reports no region is kept, marked
`unverified`, and counted as such in the report.
"""

from __future__ import annotations

from dataclasses import replace

from beacon_pipelines.backends.base import ErrorKind, InferenceResult
from beacon_pipelines.backends.receipt import (
    REGION_VERIFIED,
    UNVERIFIED,
    VERIFIED_NO,
    VERIFIED_YES,
    receipt_of,
)
from beacon_pipelines.catalog import Catalog, UnknownIdError


def verify_served_region(result: InferenceResult, catalog: Catalog) -> InferenceResult:
    """The result with its verdict in `extra`; a mismatched answer as a failed attempt."""
    cloud_region = receipt_of(result.extra).cloud_region
    claimed = result.served_region  # the catalog region the attempt was sent to
    if cloud_region is None or claimed is None:
        return _with_verdict(result, UNVERIFIED)
    try:
        region = catalog.region(claimed)
    except UnknownIdError:  # a backend serving a region the catalog lacks: nothing to check
        return _with_verdict(result, UNVERIFIED)
    if region.contains_cloud_region(cloud_region):
        return _with_verdict(result, VERIFIED_YES)
    if not result.ok:
        return _with_verdict(result, VERIFIED_NO)
    return replace(
        result,
        text=None,  # not this region's answer: never analysed (its tokens were still billed)
        error_kind=ErrorKind.REGION_MISMATCH,
        error_message=(
            f"sent to {claimed} but served from cloud region {cloud_region!r}, which is not "
            f"one of {claimed}'s ({', '.join(region.cloud_region_patterns)}); the answer is "
            f"not used as {result.request.requested_region}'s"
        ),
        # Where it did run, when the catalog knows that cloud region.
        served_region=catalog.region_of_cloud_region(cloud_region),
        extra={**result.extra, REGION_VERIFIED: VERIFIED_NO},
    )


def _with_verdict(result: InferenceResult, verdict: str) -> InferenceResult:
    return replace(result, extra={**result.extra, REGION_VERIFIED: verdict})
