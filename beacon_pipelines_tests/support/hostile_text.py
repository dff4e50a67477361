"""Text no database holds as it is: what the store must keep exactly anyway."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from beacon_pipelines.backends import receipt
from beacon_pipelines.backends.base import ErrorKind, InferenceResult
from beacon_pipelines.stored_text import STORED_MARK

# NUL (Postgres text refuses it), a lone surrogate (UTF-8 refuses it), both, text that starts
# with the escape's own mark or holds backslashes that look like its escapes, and bidi controls.
HOSTILE_TEXTS = (
    "Paris\x00 is the capital \u202eecnarF fo\u202c of France.\x00",
    "A lone \ud800 surrogate and a \udfff low one.",
    "\x00\ud800\\0\\ud800\\\\",
    STORED_MARK + "starts with the mark",
    "C:\\new\\0\\u0041 path, no NUL",
)


def hostile_results(result: InferenceResult) -> list[InferenceResult]:
    """One attempt of `result`'s request per hostile text, in its answer, error message and
    receipt; all failed but the last (one execution has one succeeded attempt at most)."""
    last = len(HOSTILE_TEXTS)
    return [
        _attempt(result, text, attempt, failed=attempt < last)
        for attempt, text in enumerate(HOSTILE_TEXTS, start=1)
    ]


def _attempt(result: InferenceResult, text: str, attempt: int, failed: bool) -> InferenceResult:
    return replace(
        result,
        request=replace(result.request, attempt=attempt),
        text=text,
        error_kind=ErrorKind.UNAVAILABLE if failed else None,
        error_message=text,
        extra={receipt.MODEL_REVISION: text, receipt.FINISH_REASON: text[:20]},
    )


def assert_kept_exactly(frame) -> None:
    """The store's rows of `hostile_results`, read back: every text as it was written."""
    rows = frame.sort_values("attempt")
    assert rows["response"].tolist() == list(HOSTILE_TEXTS)
    assert rows["error_message"].tolist() == list(HOSTILE_TEXTS)
    assert rows["model_revision"].tolist() == list(HOSTILE_TEXTS)
    assert rows["finish_reason"].tolist() == [t[:20] for t in HOSTILE_TEXTS]
    # The hash of exactly what came (a lone surrogate as its UTF-8 bytes, surrogatepass).
    hashes = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in HOSTILE_TEXTS]
    assert rows["response_sha256"].tolist() == hashes
