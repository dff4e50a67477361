"""Which similarity an audit uses: the BEACON_SIMILARITY setting and the fallback to TF-IDF.

The loader is injected, so these run the same with or without the `embeddings` extra.
"""

import pytest

from beacon_pipelines.analysis import embedding_model
from beacon_pipelines.analysis.embedding_model import EmbeddingModelUnavailable
from beacon_pipelines.analysis.similarity import EmbeddingSimilarity, TfidfSimilarity
from beacon_pipelines.analysis.similarity_choice import (
    SETTING_ENV,
    SimilaritySettingError,
    default_similarity,
)

CORPUS = ["troops fired on protesters", "the army restored order"]


def missing_model():
    raise EmbeddingModelUnavailable("embedding model all-MiniLM-L6-v2 is not installed")


def fake_model():
    return lambda texts: [[1.0, float(len(t))] for t in texts]


def must_not_load():
    raise AssertionError("tfidf must not load the embedding model")


def test_auto_falls_back_to_tfidf_when_the_model_is_missing(monkeypatch):
    monkeypatch.delenv(SETTING_ENV, raising=False)
    sim = default_similarity(CORPUS, load=missing_model)
    assert isinstance(sim, TfidfSimilarity)
    assert sim.divergent_below == 0.10


def test_auto_uses_embeddings_when_the_model_loads(monkeypatch):
    monkeypatch.delenv(SETTING_ENV, raising=False)
    sim = default_similarity(CORPUS, load=fake_model)
    assert isinstance(sim, EmbeddingSimilarity)
    assert (sim.divergent_below, sim.moderate_below) == (0.5, 0.7)
    assert "all-MiniLM-L6-v2" in sim.name


def test_tfidf_setting_forces_lexical_without_loading(monkeypatch):
    monkeypatch.setenv(SETTING_ENV, "TFIDF")
    assert isinstance(default_similarity(CORPUS, load=must_not_load), TfidfSimilarity)


def test_embedding_setting_with_the_model_missing_is_one_clear_error(monkeypatch):
    monkeypatch.setenv(SETTING_ENV, "embedding")
    expected = "BEACON_SIMILARITY=embedding: .*not installed"
    with pytest.raises(SimilaritySettingError, match=expected):
        default_similarity(CORPUS, load=missing_model)


def test_unknown_setting_names_the_variable_and_value(monkeypatch):
    monkeypatch.setenv(SETTING_ENV, "bert")
    expected = "BEACON_SIMILARITY='bert'.*auto, embedding, tfidf"
    with pytest.raises(SimilaritySettingError, match=expected):
        default_similarity(CORPUS, load=fake_model)


def test_the_model_is_loaded_once_per_process_even_when_it_fails(monkeypatch):
    calls = []

    def failing_load():
        calls.append(1)
        raise EmbeddingModelUnavailable("no torch")

    monkeypatch.setattr(embedding_model, "_load_packaged_model", failing_load)
    monkeypatch.setattr(embedding_model, "_loaded", {})
    for _ in range(3):
        with pytest.raises(EmbeddingModelUnavailable, match="no torch"):
            embedding_model.packaged_encoder()
    assert calls == [1]
