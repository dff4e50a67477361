"""Lexical similarity between answers: how much two regions' stories share."""

from __future__ import annotations

import re
from itertools import combinations

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
