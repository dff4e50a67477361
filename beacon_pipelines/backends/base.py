"""The one interface every inference backend implements.

A backend receives the requests of one partition (one model in one region) and yields one
result per request as soon as it has it, so the caller can persist each answer the moment it
exists. Failures are results too, typed as retryable or permanent, never bare exceptions.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class ErrorKind(enum.StrEnum):
    """Why an execution failed, and so whether trying again (elsewhere) can help."""

    TIMEOUT = "timeout"  # execution exceeded its budget; retryable
    COLD_START_TIMEOUT = "cold_start_timeout"  # container never became ready; retryable
    UNAVAILABLE = "unavailable"  # region down, connection refused, 5xx; retryable
    RATE_LIMITED = "rate_limited"  # 429 / resource exhausted; retryable
    MALFORMED = "malformed"  # the server answered but not in the expected shape; retryable
    # The server reported serving from a cloud region outside the region it was asked in: its
    # answer says nothing about that region, so it is a failed attempt; retryable (failover).
    REGION_MISMATCH = "region_mismatch"
    AUTH = "auth"  # bad or missing credentials; permanent
    NOT_FOUND = "not_found"  # unknown model / undeployed app; permanent
    BAD_REQUEST = "bad_request"  # the request itself is wrong; permanent

    @property
    def retryable(self) -> bool:
        return self in _RETRYABLE


_RETRYABLE = frozenset(
    {
        ErrorKind.TIMEOUT,
        ErrorKind.COLD_START_TIMEOUT,
        ErrorKind.UNAVAILABLE,
        ErrorKind.RATE_LIMITED,
        ErrorKind.MALFORMED,
        ErrorKind.REGION_MISMATCH,
    }
)


class BackendError(Exception):
    """Raised by a backend for a failure of the whole call (before any answer exists)."""

    def __init__(self, kind: ErrorKind, message: str, extra: dict | None = None):
        super().__init__(message)
        self.kind = kind
        # Receipt of the failed call (e.g. its Modal call id), kept with every attempt it fails.
        self.extra = dict(extra or {})

    @property
    def retryable(self) -> bool:
        return self.kind.retryable


@dataclass(frozen=True)
class GenerationParams:
    temperature: float
    max_new_tokens: int


@dataclass(frozen=True)
class InferenceRequest:
    audit_id: str
    model_id: str
    hf_id: str
    question_id: str
    question: str
    system_prompt: str
    params: GenerationParams
    requested_region: str  # the region whose answer this is
    target_region: str  # where this attempt is sent (differs from requested after failover)
    sample: int = 0
    attempt: int = 1  # 1 for the first try of this execution, +1 for each retry
    language: str | None = None  # the language the question and system prompt are in

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.model_id, self.requested_region, self.question_id, self.sample)

    @property
    def prompt_sha256(self) -> str:
        """sha256 of exactly what was asked: system and user messages with the generation
        settings, as canonical JSON. Two attempts with the same hash asked the same thing."""
        canonical = json.dumps(
            {
                "messages": [
                    {"role": "system", "content": self.system_prompt},
                    {"role": "user", "content": self.question},
                ],
                "temperature": self.params.temperature,
                "max_new_tokens": self.params.max_new_tokens,
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def response_sha256(text: str) -> str:
    """The sha256 an answer is stored and judged under (the judgement store's key)."""
    # surrogatepass: a lone surrogate (a JSON reply may escape one) hashes instead of raising.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class InferenceResult:
    request: InferenceRequest
    started_at: float  # unix seconds
    finished_at: float
    served_region: str | None
    text: str | None = None
    error_kind: ErrorKind | None = None
    error_message: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    simulated: bool = False
    # The backend's receipt: what the serving side reported (see receipt.py for the keys
    # Beacon stores), plus anything else the backend keeps for its own metadata.
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error_kind is None and self.text is not None

    @property
    def latency_s(self) -> float:
        return self.finished_at - self.started_at

    @property
    def response_sha256(self) -> str | None:
        return None if self.text is None else response_sha256(self.text)

    @classmethod
    def failure(
        cls,
        request: InferenceRequest,
        kind: ErrorKind,
        message: str,
        started_at: float,
        finished_at: float,
        served_region: str | None = None,
        simulated: bool = False,
        extra: dict | None = None,
    ) -> InferenceResult:
        return cls(
            request=request,
            started_at=started_at,
            finished_at=finished_at,
            served_region=served_region,
            error_kind=kind,
            error_message=message,
            simulated=simulated,
            extra=dict(extra or {}),
        )


@runtime_checkable
class InferenceBackend(Protocol):
    """name is stored with every execution; generate yields one result per request."""

    name: str

    def generate(self, requests: Iterable[InferenceRequest]) -> Iterator[InferenceResult]: ...
