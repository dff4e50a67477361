"""Similarity between answers: how much two regions' stories share.

Jaccard of content words (the original system's measure) and a semantic similarity: cosine of
sentence embeddings when an embedding model is given, TF-IDF cosine otherwise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from itertools import repeat

import numpy as np

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SEPARATED_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|\0")  # _TOKEN, and NUL between texts
# Function words carry no narrative; leaving them in makes every English answer look alike.
_STOPWORDS = frozenset(
    "a an and are as at be by for from has have in is it its of on or that the this to was "
    "were will with which who what when where how i you he she they we our their his her".split()
)


class TermTable:
    """The content words of each distinct text (its lower-cased _TOKENs but _STOPWORDS),
    tokenized once: term ids in the order the text first uses them, with their counts, rows
    laid end to end. What lets the similarities of many pairs be computed in numpy rather than
    pair by pair."""

    def __init__(self, texts: Iterable[str | None] = ()):
        self.vocabulary: dict[str, int] = {}
        self._row: dict[str | None, int] = {}
        self._terms: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._sizes: list[np.ndarray] = []
        self._flat: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._lookup: tuple[np.ndarray, np.ndarray, int] | None = None
        self.rows(texts)

    def rows(self, texts: Iterable[str | None]) -> np.ndarray:
        """The row of each text, its words read on first sight."""
        texts = list(texts)
        new = [t for t in dict.fromkeys(texts) if t not in self._row]
        for start in range(0, len(new), 16384):  # the tokens of a chunk at a time
            self._read(new[start : start + 16384])
        if new:
            self._flat = None
        return np.fromiter(map(self._row.__getitem__, texts), dtype=np.int64, count=len(texts))

    def _read(self, texts: list[str | None]) -> None:
        """The content words of each text as rows: one regex pass over the texts laid end to end,
        NUL between them (a token is never a NUL), each text's words counted in numpy."""
        lowered = [t.lower() if t else "" for t in texts]
        joined = "\0".join(lowered)
        if joined.count("\0") > len(lowered) - 1:  # a NUL of a text's own would split it
            tokens = [w for t in lowered for w in (*_TOKEN.findall(t), "\0")][:-1]
        else:
            tokens = _SEPARATED_TOKEN.findall(joined)
        vocabulary = self.vocabulary
        for token in set(tokens).difference(vocabulary):
            if token != "\0":
                vocabulary[token] = len(vocabulary)
        # -1: the NUL between two texts.
        codes = np.fromiter(map(vocabulary.get, tokens, repeat(-1)), dtype=np.int64,
                            count=len(tokens))
        text = np.cumsum(codes < 0)  # which text each token is of
        kept = np.ones(len(vocabulary) + 1, dtype=bool)  # the last: the NUL's
        kept[[vocabulary[w] for w in _STOPWORDS if w in vocabulary]] = False
        kept[-1] = False
        content = kept[codes]
        width = np.int64(max(len(vocabulary), 1))
        keys, first, counts = np.unique(
            text[content] * width + codes[content], return_index=True, return_counts=True
        )
        order = np.argsort(first)  # Counter's order: as the text first uses each word
        keys, counts = keys[order], counts[order]
        for t in texts:
            self._row[t] = len(self._row)
        self._terms.append(keys % width)
        self._counts.append(counts.astype(np.int64))
        self._sizes.append(np.bincount(keys // width, minlength=len(texts)).astype(np.int64))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start of each row, term of each entry, count of each entry); a row's entries are
        starts[row] to starts[row] + sizes[row]."""
        if self._flat is None:
            sizes = np.concatenate([np.zeros(0, np.int64), *self._sizes])
            starts = np.zeros(len(sizes) + 1, dtype=np.int64)
            np.cumsum(sizes, out=starts[1:])
            self._flat = (
                starts,
                np.concatenate([np.zeros(0, np.int64), *self._terms]),
                np.concatenate([np.zeros(0, np.int64), *self._counts]),
            )
            self._lookup = None
        return self._flat

    def _entries_by_key(self) -> tuple[np.ndarray, np.ndarray, int]:
        """The table's entries sorted by (row, term) key, their keys, and the key's width."""
        starts, terms, _ = self.arrays()
        if self._lookup is None:
            width = max(len(self.vocabulary), 1)
            sizes = np.diff(starts)
            keys = np.repeat(np.arange(len(sizes)), sizes) * width + terms
            order = np.argsort(keys, kind="stable")
            self._lookup = (order, keys[order], width)
        return self._lookup

    def sizes(self) -> np.ndarray:
        """Distinct content words of each row."""
        return np.diff(self.arrays()[0])

    def shared(
        self, rows_a: np.ndarray, rows_b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The words each pair (rows_a[i], rows_b[i]) shares: (pair, entry in a's row, entry
        in b's row) of each, pair by pair, in the order the shorter row (a's on a tie) uses
        them, as a pair-by-pair cosine would walk them."""
        starts, terms, _ = self.arrays()
        sizes = np.diff(starts)
        swap = sizes[rows_a] > sizes[rows_b]
        small = np.where(swap, rows_b, rows_a)
        other = np.where(swap, rows_a, rows_b)
        n = sizes[small]
        pair = np.repeat(np.arange(len(small)), n)
        walk = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        entry_small = starts[small][pair] + walk
        order, sorted_keys, width = self._entries_by_key()
        wanted = other[pair] * width + terms[entry_small]
        at = np.minimum(np.searchsorted(sorted_keys, wanted), max(len(sorted_keys) - 1, 0))
        hit = (sorted_keys[at] == wanted) if len(sorted_keys) else np.zeros(0, bool)
        entry_other = order[at[hit]]
        pair, entry_small = pair[hit], entry_small[hit]
        swapped = swap[pair]
        return (pair, np.where(swapped, entry_other, entry_small),
                np.where(swapped, entry_small, entry_other))


def pair_jaccard(table: TermTable, rows_a: np.ndarray, rows_b: np.ndarray) -> np.ndarray:
    """Jaccard (|a ∩ b| / |a ∪ b|, 1.0 for two empty answers) of the content words of each
    pair of rows of `table`."""
    sizes = table.sizes()
    pair, _, _ = table.shared(rows_a, rows_b)
    both = np.bincount(pair, minlength=len(rows_a))
    union = sizes[rows_a] + sizes[rows_b] - both
    out = np.ones(len(rows_a))
    some = union > 0
    out[some] = both[some] / union[some]
    return out


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
        # The words of each text read, the corpus' and any compared since (the analysis reads
        # its word overlaps from the same table).
        self.terms = TermTable(set(corpus))
        _, terms, _ = self.terms.arrays()
        df = np.bincount(terms, minlength=len(self.terms.vocabulary))
        n = len(self.terms.sizes())
        # Smoothed IDF (as scikit-learn's): a term in every document still counts a little.
        # math.log, term by term (numpy's log can differ in the last bit): the exact values of
        # a pair-by-pair cosine over dicts.
        self._idf = {
            term: math.log((1 + n) / (1 + d)) + 1
            for term, d in zip(self.terms.vocabulary, df.tolist(), strict=True)
        }

    def similarities(self, a: list[str | None], b: list[str | None]) -> np.ndarray:
        """Cosine in [0, 1] of each pair (a[i], b[i]), two texts without content words
        identical (1.0): the words of each distinct text read once, each pair's shared words
        summed in the order a pair-by-pair cosine over dicts would sum them (the shorter
        vector's, a's on a tie, as that text first uses them), to the same last bit."""
        table = self.terms
        rows_a, rows_b = table.rows(a), table.rows(b)
        starts, terms, counts = table.arrays()
        default = math.log(2) + 1  # a term unseen in the corpus: as rare as can be
        vocabulary = table.vocabulary
        idf = np.full(len(vocabulary), default)
        seen = np.fromiter((vocabulary[t] for t in self._idf), dtype=np.int64,
                           count=len(self._idf))
        idf[seen] = np.fromiter(self._idf.values(), dtype=np.float64, count=len(self._idf))
        weights = counts * idf[terms]
        sizes = np.diff(starts)
        norms = np.sqrt(np.bincount(np.repeat(np.arange(len(sizes)), sizes),
                                    weights=weights * weights, minlength=len(sizes)))
        pair, entry_a, entry_b = table.shared(rows_a, rows_b)
        dot = np.bincount(pair, weights=weights[entry_a] * weights[entry_b],
                          minlength=len(rows_a))
        na, nb = norms[rows_a], norms[rows_b]
        empty = (na == 0) | (nb == 0)
        out = np.minimum(1.0, dot / np.where(empty, 1.0, na * nb))
        out[empty] = np.where(na[empty] == nb[empty], 1.0, 0.0)
        return out


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
