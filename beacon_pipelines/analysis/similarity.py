"""Similarity between answers: how much two regions' stories share.

Jaccard of content words (the original system's measure) and a semantic similarity: cosine of
sentence embeddings when an embedding model is given, TF-IDF cosine otherwise.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from itertools import combinations

import numpy as np

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Function words carry no narrative; leaving them in makes every English answer look alike.
_STOPWORDS = frozenset(
    "a an and are as at be by for from has have in is it its of on or that the this to was "
    "were will with which who what when where how i you he she they we our their his her".split()
)


def content_tokens(text: str | None) -> frozenset[str]:
    if not text:
        return frozenset()
    return frozenset(t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b|; two empty answers are identical (1.0)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def pairwise_jaccard(texts: dict[str, str | None]) -> dict[tuple[str, str], float]:
    """Similarity of every pair of labelled texts, keys sorted in the order given."""
    tokens = {label: content_tokens(text) for label, text in texts.items()}
    return {(x, y): jaccard(tokens[x], tokens[y]) for x, y in combinations(tokens, 2)}


def term_counts(text: str | None) -> Counter:
    if not text:
        return Counter()
    return Counter(t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS)


def multilingual(similarity) -> bool:
    """Whether `similarity` compares texts in two languages meaningfully (it says so)."""
    return bool(getattr(similarity, "multilingual", False))


class TfidfSimilarity:
    """Lexical stand-in for semantic similarity: cosine of TF-IDF vectors.

    IDF comes from the whole audit's answers, so words every answer uses ("china", "1989")
    weigh little and the words that tell two stories apart ("killed" vs "restored order")
    weigh much. Vectors are built once per distinct text.
    """

    name = "tfidf-cosine"
    multilingual = False  # words of two languages never match
    divergent_below, moderate_below = 0.10, 0.20  # see risk.py

    def __init__(self, corpus: Iterable[str | None]):
        counts = [term_counts(t) for t in set(corpus)]
        df: Counter = Counter()
        for c in counts:
            df.update(c.keys())
        n = len(counts)
        # Smoothed IDF (as scikit-learn's): a term in every document still counts a little.
        self._idf = {term: math.log((1 + n) / (1 + d)) + 1 for term, d in df.items()}
        self._vectors: dict[str | None, tuple[dict[str, float], float]] = {}

    def _vector(self, text: str | None) -> tuple[dict[str, float], float]:
        cached = self._vectors.get(text)
        if cached is None:
            default = math.log(2) + 1  # a term unseen in the corpus: as rare as can be
            vec = {t: c * self._idf.get(t, default) for t, c in term_counts(text).items()}
            cached = (vec, math.sqrt(sum(v * v for v in vec.values())))
            self._vectors[text] = cached
        return cached

    def similarity(self, a: str | None, b: str | None) -> float:
        """Cosine in [0, 1]; two texts without content words are identical (1.0)."""
        va, na = self._vector(a)
        vb, nb = self._vector(b)
        if na == 0 or nb == 0:
            return 1.0 if na == nb else 0.0
        if len(va) > len(vb):
            va, vb = vb, va
        dot = sum(w * vb.get(t, 0.0) for t, w in va.items())
        return min(1.0, dot / (na * nb))


class EmbeddingSimilarity:
    """Cosine of sentence embeddings from any `encode(list[str]) -> array` callable.

    The packaged model (extra `embeddings`, see similarity_choice.py) is used when it loads;
    it pulls PyTorch, so the default install has none and falls back to the TF-IDF cosine.
    """

    divergent_below, moderate_below = 0.5, 0.7  # see risk.py

    def __init__(self, encode, name: str = "embedding-cosine", multilingual: bool = False):
        self._encode = encode
        self.name = name
        # True only for a model trained to map translations together (e.g. a multilingual
        # sentence model); the packaged all-MiniLM-L6-v2 is English-only.
        self.multilingual = multilingual
        self._cache: dict[str | None, np.ndarray] = {}

    def prepare(self, texts: Iterable[str | None]) -> None:
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            vectors = np.asarray(self._encode([t or "" for t in todo]), dtype=float)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.where(norms > 0, norms, 1.0)
            self._cache.update(zip(todo, vectors, strict=True))

    def similarity(self, a: str | None, b: str | None) -> float:
        self.prepare([a, b])
        return float(np.clip(self._cache[a] @ self._cache[b], 0.0, 1.0))
