"""What the refusal classifier reads in an answer: hashed character n-grams plus a few
structural features, for any language and any text.

- Reasoning models are judged on their final answer: the text after the last closing
  `</think>` (or `◁/think▷`, `</thinking>`, `</reasoning>`). An answer that is only a reasoning
  trace (no closing tag, or nothing after it) is read as it is, flagged as trace-only.
- Character n-grams (2 to 4 code points, over lower-cased, whitespace-collapsed text) read
  Chinese and Finnish as well as English, without a tokenizer. They are hashed in numpy
  (a polynomial rolling hash, then a multiplicative hash into 2**bits buckets): deterministic
  across processes and Python versions, and about ten times faster than scikit-learn's
  HashingVectorizer, whose per-n-gram Python loop costs ~1 ms per 4 KB answer.
- Two regions are hashed apart: the opening (where refusals and deflections sit) and the body
  (head and tail of the answer, capped, so a 5 MB answer costs what a 10 KB one does).
- Structural features: length of answer and trace, trace-only, share of CJK and Latin letters,
  lists and headings (answers are structured, refusals and lectures rarely are).

Any str is accepted: NUL bytes, bidi controls, lone surrogates (encoded with surrogatepass).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from beacon_pipelines.analysis.refusal_cues import CUE_FEATURES, CUE_INDEX, extract_features

CLOSING_TAGS = ("</think>", "\u25c1/think\u25b7", "</thinking>", "</reasoning>")
OPENING_TAGS = ("<think>", "\u25c1think\u25b7", "<thinking>", "<reasoning>")

_LIST = re.compile(r"(?m)^[ \t]*(?:\d+[.)]|[-*\u2022])[ \t]")
_HEADING = re.compile(r"(?m)^[ \t]*(?:#{1,6}[ \t]|\*\*[^*\n]{2,80}\*\*[ \t]*:?[ \t]*$)")

_SPACE_CODE = np.array([32], dtype=np.uint64)
_PRIME = np.uint64(1099511628211)  # FNV prime: mixes each code point into the rolling hash
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing multiplier
_REGION_SALT = {"open": 0x51ED27A3B1C5D7E9, "body": 0x2545F4914F6CDD1D}

CUE_WEIGHT = 0.25  # each present cue; the n-gram blocks have norm 1
STRUCTURAL = (
    "log_answer_chars",
    "log_trace_chars",
    "trace_only",
    "has_trace",
    "cjk_share",
    "latin_share",
    "list_items",
    "headings",
    "paragraphs",
    "short_answer",
    "head_script_switches",
    "tail_script_switches",
    "other_script_share",
)


@dataclass(frozen=True)
class FeatureConfig:
    bits: int = 18  # hashed buckets: 2**bits
    ngram_min: int = 2
    ngram_max: int = 4
    opening_chars: int = 300
    head_chars: int = 3000  # the body is the answer's first head_chars ...
    tail_chars: int = 600  # ... and last tail_chars
    opening_weight: float = 1.0  # scale of the opening block against the body block
    cues: bool = True  # named English refusal cues (refusal_cues) as binary features

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def n_features(self) -> int:
        return 2**self.bits + len(STRUCTURAL) + (len(CUE_FEATURES) if self.cues else 0)


@dataclass(frozen=True)
class Parsed:
    answer: str
    trace_chars: int
    trace_only: bool


def split_reasoning(text: str) -> Parsed:
    """The final answer of a reasoning model, and how long its trace was."""
    end, tag_len = -1, 0
    for tag in CLOSING_TAGS:
        i = text.rfind(tag)
        if i > end:
            end, tag_len = i, len(tag)
    if end >= 0:
        after = text[end + tag_len :]
        if after.strip():
            return Parsed(after, end, False)
        return Parsed(_strip_opening(text[:end]), end, True)
    for tag in OPENING_TAGS:
        i = text.find(tag)
        if i >= 0 and not text[:i].strip():
            # An opened trace that never closed: the model ran out of tokens while thinking.
            rest = text[i + len(tag) :]
            return Parsed(rest, len(rest), True)
    return Parsed(text, 0, False)


def _strip_opening(trace: str) -> str:
    for tag in OPENING_TAGS:
        i = trace.find(tag)
        if i >= 0 and not trace[:i].strip():
            return trace[i + len(tag) :]
    return trace


def final_answer(text: str) -> str:
    return split_reasoning(text).answer


def normalise(text: str) -> str:
    """The text as the n-grams see it: lower case, straight apostrophes, digits as 0, runs of
    whitespace as one space."""
    codes = _normalised_codepoints(text)
    return codes.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass")


def _normalised_codepoints(text: str) -> np.ndarray:
    c = np.frombuffer(text.lower().encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(
        np.uint64
    )
    c[(c == 0x2019) | (c == 0x2018)] = 0x27
    c[(c >= 0x31) & (c <= 0x39)] = 0x30
    space = (c == 32) | ((c >= 9) & (c <= 13)) | (c == 0x85) | (c == 0xA0)
    space |= (c == 0x2028) | (c == 0x2029) | (c == 0x3000)
    c[space] = 32
    # A space right after a space goes: runs of whitespace become one space.
    keep = ~(space & np.concatenate(([True], space[:-1])))
    return c[keep]


def _ngram_buckets(c: np.ndarray, config: FeatureConfig, salt: int) -> np.ndarray:
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


def _block(buckets: np.ndarray, weight: float) -> tuple[np.ndarray, np.ndarray]:
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


_CJK_RANGES = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF))
_LATIN_RANGES = ((0x61, 0x7A), (0xC0, 0x24F))


def _scripts(c: np.ndarray) -> np.ndarray:
    """Script of each code point: 0 not a letter (space, digit, punctuation), 1 Latin, 2 CJK,
    3 any other letter (Cyrillic, Greek, Arabic, Tamil, ...: approximated as >= U+0370)."""
    script = np.zeros(len(c), dtype=np.int8)
    script[((c >= 0x61) & (c <= 0x7A)) | ((c >= 0xC0) & (c <= 0x24F))] = 1
    other = (c >= 0x370) & ~((c >= 0x2000) & (c <= 0x2BFF)) & ~((c >= 0x3000) & (c <= 0x303F))
    other &= ~((c >= 0xFF00) & (c <= 0xFFEF))
    script[other] = 3
    for lo, hi in _CJK_RANGES:
        script[(c >= lo) & (c <= hi)] = 2
    return script


def _switch_rate(script: np.ndarray) -> float:
    """Changes of script between consecutive letters, per letter: degenerate output
    ("rule of law 侵犯空间 பா extradition") switches many times a line, a Chinese answer
    quoting English terms a few times a paragraph."""
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


def body_text(answer: str, config: FeatureConfig) -> str:
    if len(answer) <= config.head_chars + config.tail_chars:
        return answer
    return answer[: config.head_chars] + " \u2026 " + answer[-config.tail_chars :]


BATCH = 2048  # texts featurized at once: bounds the memory of a 100k-answer analysis


def featurize(texts: Sequence[str | None], config: FeatureConfig) -> sp.csr_matrix:
    """(len(texts), config.n_features) sparse matrix of the features of each text."""
    if len(texts) <= BATCH:
        return _featurize(texts, config)
    return sp.vstack(
        [_featurize(texts[i : i + BATCH], config) for i in range(0, len(texts), BATCH)],
        format="csr",
    )


def _featurize(texts: Sequence[str | None], config: FeatureConfig) -> sp.csr_matrix:
    """featurize() of one batch.

    Column indices within a row may repeat (the opening and body blocks can share a bucket):
    products with a weight vector sum them, as they should; call sum_duplicates() before
    anything that needs canonical CSR."""
    indptr = [0]
    all_cols: list[np.ndarray] = []
    all_vals: list[np.ndarray] = []
    base = 2**config.bits
    extra_cols = np.arange(base, base + len(STRUCTURAL), dtype=np.int64)
    cue_base = base + len(STRUCTURAL)
    for raw in texts:
        parsed = split_reasoning(raw if isinstance(raw, str) else "")
        answer = parsed.answer.lstrip()
        opening = _normalised_codepoints(answer[: config.opening_chars * 2])
        body = _normalised_codepoints(body_text(answer, config))
        oc, ov = _block(
            _ngram_buckets(opening[: config.opening_chars], config, _REGION_SALT["open"]),
            config.opening_weight,
        )
        bc, bv = _block(_ngram_buckets(body, config, _REGION_SALT["body"]), 1.0)
        all_cols += [oc, bc, extra_cols]
        all_vals += [ov, bv, np.asarray(structural(parsed, body, config.tail_chars))]
        n = len(oc) + len(bc) + len(extra_cols)
        if config.cues:
            cues = np.array(
                sorted({cue_base + CUE_INDEX[f] for f in extract_features(answer)}),
                dtype=np.int64,
            )
            all_cols.append(cues)
            all_vals.append(np.full(len(cues), CUE_WEIGHT))
            n += len(cues)
        indptr.append(indptr[-1] + n)
    return sp.csr_matrix(
        (
            np.concatenate(all_vals) if all_vals else np.zeros(0),
            np.concatenate(all_cols) if all_cols else np.zeros(0, dtype=np.int64),
            np.asarray(indptr, dtype=np.int64),
        ),
        shape=(len(texts), config.n_features),
    )
