"""Inference backends behind one interface (see base.py)."""

from beacon_pipelines.backends.base import (
    BackendError,
    ErrorKind,
    GenerationParams,
    InferenceBackend,
    InferenceRequest,
    InferenceResult,
)

__all__ = [
    "BackendError",
    "ErrorKind",
    "GenerationParams",
    "InferenceBackend",
    "InferenceRequest",
    "InferenceResult",
]
