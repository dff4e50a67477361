"""Which semantic similarity an audit uses: embeddings when the packaged model loads, else TF-IDF.

BEACON_SIMILARITY=auto (default: embeddings if installed, TF-IDF otherwise), `embedding`
(the model must load, else one clear error) or `tfidf` (lexical, even with the model installed).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from beacon_pipelines.analysis.embedding_model import (
    MODEL_NAME,
    EmbeddingModelUnavailable,
    packaged_encoder,
)
from beacon_pipelines.analysis.similarity import EmbeddingSimilarity, TfidfSimilarity

SETTING_ENV = "BEACON_SIMILARITY"
SETTINGS = ("auto", "embedding", "tfidf")


class SimilaritySettingError(ValueError):
    """BEACON_SIMILARITY is not one of SETTINGS, or asks for a model that does not load."""


def similarity_setting() -> str:
    value = os.environ.get(SETTING_ENV, "").strip().lower() or "auto"
    if value not in SETTINGS:
        raise SimilaritySettingError(
            f"{SETTING_ENV}={os.environ[SETTING_ENV]!r}: expected one of {', '.join(SETTINGS)}"
        )
    return value


def default_similarity(
    corpus: Iterable[str | None],
    setting: str | None = None,
    load: Callable[[], Callable] = packaged_encoder,
):
    """The similarity for an audit whose answers are `corpus` (TF-IDF needs them for its IDF).

    `setting` defaults to BEACON_SIMILARITY; `load` returns the model's encode function or
    raises EmbeddingModelUnavailable.
    """
    setting = setting or similarity_setting()
    if setting not in SETTINGS:
        raise SimilaritySettingError(f"similarity {setting!r}: expected one of {SETTINGS}")
    if setting != "tfidf":
        try:
            return EmbeddingSimilarity(load(), name=f"embedding-cosine ({MODEL_NAME})")
        except EmbeddingModelUnavailable as exc:
            if setting == "embedding":
                raise SimilaritySettingError(f"{SETTING_ENV}=embedding: {exc}") from exc
    return TfidfSimilarity(corpus)
