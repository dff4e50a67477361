"""Slow, per-answer (or pair-by-pair) reference implementations that the batch code of the
analysis must equal: each reads one answer or one pair at a time, in plain Python and numpy,
the way the batch code's docstrings describe. Production never calls them; tests compare the
batch results with them, mostly to the last bit."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from beacon_pipelines.analysis.answer_explanation import WordUnits
from beacon_pipelines.analysis.classify import ResponseClassifier
from beacon_pipelines.analysis.refusal_cues import (
    CUE_FEATURES,
    cue_matrix,
)
from beacon_pipelines.analysis.refusal_features import (
    _CJK_RANGES,
    _HEADING_RE2,
    _LIST_RE2,
    _MIX,
    _PRIME,
    FeatureConfig,
    Parsed,
    _fold,
    _scripts,
)
from beacon_pipelines.analysis.refusal_model import PARTIAL, REFUSAL, RefusalModel, answer_lengths
from beacon_pipelines.analysis.similarity import _STOPWORDS, _TOKEN

# -- refusal_features: the n-gram hash and the structural features of one answer ------------

_SPACE_CODE = np.array([32], dtype=np.uint64)
_LATIN_RANGES = ((0x61, 0x7A), (0xC0, 0x24F))
_LIST = re.compile(_LIST_RE2.replace("\\x{2022}", "\u2022"))
_HEADING = re.compile(_HEADING_RE2)


def normalised_codepoints(text: str) -> np.ndarray:
    """The code points of one text as the n-grams see them: lower case, straight apostrophes,
    digits as 0, runs of whitespace as one space."""
    c = np.frombuffer(text.lower().encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(
        np.uint64
    )
    space = _fold(c)
    # A space right after a space goes: runs of whitespace become one space.
    keep = ~(space & np.concatenate(([True], space[:-1])))
    return c[keep]


def ngram_buckets(c: np.ndarray, config: FeatureConfig, salt: int) -> np.ndarray:
    """Bucket of every n-gram (ngram_min..ngram_max code points) of the code points `c`."""
    c = np.concatenate((_SPACE_CODE, c, _SPACE_CODE))
    shift = np.uint64(64 - config.bits)
    out = []
    h = c.copy()
    for n in range(1, config.ngram_max + 1):
        if n > 1:
            if len(c) < n:
                break
            h = h[:-1] * _PRIME + c[n - 1 :]
        if n >= config.ngram_min:
            salted = h ^ np.uint64((salt + 0x9E37 * n) & 0xFFFFFFFFFFFFFFFF)
            out.append((salted * _MIX) >> shift)
    if not out:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate(out).astype(np.int64)


def block(buckets: np.ndarray, weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Sublinear term frequencies, L2-normalised to `weight`."""
    if len(buckets) == 0:
        return buckets, np.zeros(0)
    cols, counts = np.unique(buckets, return_counts=True)
    values = 1.0 + np.log(counts)
    values *= weight / math.sqrt(float(values @ values))
    return cols, values


def _share(c: np.ndarray, ranges: tuple[tuple[int, int], ...]) -> float:
    if len(c) == 0:
        return 0.0
    hit = np.zeros(len(c), dtype=bool)
    for lo, hi in ranges:
        hit |= (c >= lo) & (c <= hi)
    return float(hit.mean())


def _switch_rate(script: np.ndarray) -> float:
    """Changes of script between consecutive letters, per letter, times 10, at most 1."""
    letters = script[script > 0]
    if len(letters) < 2:
        return 0.0
    return min(float((letters[1:] != letters[:-1]).mean()) * 10, 1.0)


def structural(parsed: Parsed, body: np.ndarray, tail_chars: int = 600) -> list[float]:
    """STRUCTURAL features of an answer whose normalised body code points are `body`."""
    head = parsed.answer[:4000]
    n_chars = len(parsed.answer.strip())
    script = _scripts(body)
    letters = max(int((script > 0).sum()), 1)
    return [
        math.log1p(n_chars) / 10,
        math.log1p(parsed.trace_chars) / 10,
        float(parsed.trace_only),
        float(parsed.trace_chars > 0),
        _share(body, _CJK_RANGES),
        _share(body, _LATIN_RANGES),
        min(len(_LIST.findall(head)), 20) / 20,
        min(len(_HEADING.findall(head)), 10) / 10,
        min(head.count("\n\n"), 20) / 20,
        float(n_chars < 400),
        _switch_rate(script[:-tail_chars] if len(script) > 2 * tail_chars else script),
        _switch_rate(script[-tail_chars:]),
        float((script == 3).sum()) / letters,
    ]


# -- refusal_cues: the cues of one answer ---------------------------------------------------

def extract_features(text: str) -> list[str]:
    """Names of the cues present in one answer (binary features): cue_matrix of one text."""
    return [CUE_FEATURES[i] for i in np.flatnonzero(cue_matrix([text])[0])]


# -- refusal_model and classify: one decision from the probabilities ------------------------


def predict(
    model: RefusalModel, texts: Sequence[str | None], questions: Sequence[str | None] | None = None
) -> np.ndarray:
    """The model's class index of each answer: its thresholds over its probabilities."""
    return model.thresholds.decide(model.probabilities(texts, questions), answer_lengths(texts))


def refusal_probability(
    classifier: ResponseClassifier,
    texts: Sequence[str],
    questions: Sequence[str | None] | None = None,
) -> np.ndarray:
    """P(refusal or partial refusal) per answer."""
    probs = classifier.model.probabilities(list(texts), questions)
    return probs[:, REFUSAL] + probs[:, PARTIAL]


# -- answer_explanation: one unit of WordUnits ----------------------------------------------


def unit_key(units: WordUnits, unit: int) -> str:
    """The unit's normalised text."""
    a = int(units.first[unit])
    return units.text[a : a + int(units.length[unit])]


def unit_written(units: WordUnits, unit: int, words: list[str]) -> str:
    """The unit as the answer wrote it (case and digits kept), when the written word
    (`words`: the answer's body split on whitespace) lines up with the normalised one."""
    w, key = int(units.word[unit]), unit_key(units, unit)
    if w < len(words) and len(words[w]) == int(units.word_length[unit]):
        off = int(units.offset[unit])
        return words[w][off : off + len(key)]
    return key


# -- similarity: Jaccard and TF-IDF cosine pair by pair ------------------------------------


def content_tokens(text: str | None) -> frozenset[str]:
    if not text:
        return frozenset()
    return frozenset(t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b|; two empty answers are identical (1.0)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def term_counts(text: str | None) -> Counter:
    if not text:
        return Counter()
    return Counter(t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS)


class PairwiseTfidf:
    """TfidfSimilarity's cosine, one pair at a time, from dicts: the IDF of each word over the
    distinct texts of the corpus (smoothed, as scikit-learn's), each text's vector its
    term_counts times the IDF, each pair's shared words summed in the order the shorter
    vector (a's on a tie) first uses them."""

    def __init__(self, corpus):
        documents = set(corpus)
        df: Counter = Counter()
        for text in documents:
            df.update(term_counts(text).keys())
        n = len(documents)
        self._idf = {term: math.log((1 + n) / (1 + d)) + 1 for term, d in df.items()}

    def _vector(self, text: str | None) -> tuple[dict[str, float], float]:
        default = math.log(2) + 1  # a term unseen in the corpus: as rare as can be
        vec = {t: c * self._idf.get(t, default) for t, c in term_counts(text).items()}
        return vec, math.sqrt(sum(v * v for v in vec.values()))

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
