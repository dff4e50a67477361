"""The serving receipt: what the server said about where and how it answered one request.

Backends put these keys in `InferenceResult.extra`; the store keeps them per attempt, the
exports and the report show them. Every value comes from the serving side and is untrusted
text: it is cut to a bounded length here, and escaped wherever it is displayed.
"""

from __future__ import annotations

from dataclasses import dataclass

# Keys of InferenceResult.extra that the store keeps, each as its own column.
CLOUD_REGION = "cloud_region"  # e.g. us-east-1, as the serving container reports it
CLOUD_PROVIDER = "cloud_provider"  # e.g. CLOUD_PROVIDER_AWS
TASK_ID = "task_id"  # the container or task that answered
GPU = "gpu"
MODEL_REVISION = "model_revision"  # the weights' commit (Modal) or the server's fingerprint
FINISH_REASON = "finish_reason"  # stop, length, ...
CALL_ID = "call_id"  # the backend's id of the call (Modal function call, completion id)

MAX_RECEIPT_CHARS = 200  # a hostile server cannot fill the store through a receipt


@dataclass(frozen=True)
class ServingReceipt:
    cloud_region: str | None = None
    cloud_provider: str | None = None
    task_id: str | None = None
    gpu: str | None = None
    model_revision: str | None = None
    finish_reason: str | None = None
    call_id: str | None = None


def _text(value: object) -> str | None:
    """A reported value as bounded text; absent, empty or not a scalar: None."""
    if value is None or isinstance(value, dict | list | tuple | set | bytes):
        return None
    text = str(value).strip()
    return text[:MAX_RECEIPT_CHARS] or None


def receipt_of(extra: dict) -> ServingReceipt:
    return ServingReceipt(
        cloud_region=_text(extra.get(CLOUD_REGION)),
        cloud_provider=_text(extra.get(CLOUD_PROVIDER)),
        task_id=_text(extra.get(TASK_ID)),
        gpu=_text(extra.get(GPU)),
        model_revision=_text(extra.get(MODEL_REVISION)),
        finish_reason=_text(extra.get(FINISH_REASON)),
        call_id=_text(extra.get(CALL_ID)),
    )


# Beacon's verdict on the reported cloud region, kept with the receipt (set by
# region_verification.py, never by a server).
REGION_VERIFIED = "region_verified"
VERIFIED_YES, VERIFIED_NO, UNVERIFIED = "yes", "no", "unverified"
