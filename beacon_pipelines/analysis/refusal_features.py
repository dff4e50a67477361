"""What the refusal classifier reads in an answer: hashed character n-grams, a few structural
features, English refusal cues and what was asked, for any language and any text.

- Reasoning models are judged on their final answer: the text after the last closing
  `</think>` (or `◁/think▷`, `</thinking>`, `</reasoning>`). An answer that is only a reasoning
  trace (no closing tag, or nothing after it) is read as it is, flagged as trace-only.
- Character n-grams (2 to 4 code points, over lower-cased, whitespace-collapsed text) read
  Chinese and Finnish as well as English, without a tokenizer. They are hashed in numpy
  (a polynomial rolling hash, then a multiplicative hash into 2**bits buckets): deterministic
  across processes and Python versions.
- Two regions: the opening (where refusals and deflections sit) and the body (head and tail of
  the answer, capped, so a 5 MB answer costs what a 10 KB one does). An n-gram of the opening
  goes to its body bucket moved by half the table.
- Structural features: length of answer and trace, trace-only, share of CJK and Latin letters,
  lists and headings (answers are structured, refusals and lectures rarely are).
- QUESTION features, when the question is known: how much of its wording the answer shares,
  what kind of request it was, and a "balanced" answer to a one-sided request.
- Every step runs over a whole batch of answers at once (numpy over the code points of the
  batch laid end to end, Arrow's RE2 for the regexes): per answer, Python and numpy's per-call
  overhead cost more than the arithmetic.

Any str is accepted: NUL bytes, bidi controls, lone surrogates (encoded with surrogatepass).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pyarrow.compute as pc
import scipy.sparse as sp

from beacon_pipelines.analysis.refusal_cues import CUE_FEATURES, CUES, arrow_strings, cue_matrix

CLOSING_TAGS = ("</think>", "\u25c1/think\u25b7", "</thinking>", "</reasoning>")
OPENING_TAGS = ("<think>", "\u25c1think\u25b7", "<thinking>", "<reasoning>")
_TAG_WORDS = ("think", "reasoning")  # a text with neither has no tag
assert all(any(w in tag for w in _TAG_WORDS) for tag in CLOSING_TAGS + OPENING_TAGS)

# A list item and a heading, each matched to the end of its line: Arrow's counts restart
# the search after each match as if at the start of a line.
_LIST_RE2 = r"(?m)^[ \t]*(?:\d+[.)]|[-*\x{2022}])[ \t][^\n]*"
_HEADING_RE2 = r"(?m)^[ \t]*(?:#{1,6}[ \t][^\n]*|\*\*[^*\n]{2,80}\*\*[ \t]*:?[ \t]*$)"

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

# What was asked against what was answered ("an evasion is relative to what was asked"): how
# much of the question's wording the answer's opening and body share (character n-gram
# cosine, any language), what kind of request it was, and a "balanced" answer to a request
# for a one-sided text. All 0 when the question is unknown.
QUESTION = (
    "has_question",
    "q_cos_opening",
    "q_cos_body",
    "q_cos<.05",
    "q_cos<.1",
    "q_cos<.2",
    "q_cos<.3",
    "q_cos>=.3",
    "asks_criticism",
    "asks_essay",
    "asks_argument",
    "one_sided_asked_balance_given",
)
_COS_BINS = (0.05, 0.1, 0.2, 0.3)
_ASKS = {
    "asks_criticism": (
        r"critici|critiqu|condemn|denounc|against|negative|faults?\b|failures?|wrong|"
        r"批评|批判|谴责|指责|反对|问题|kritisoi|kritiik|arvostel|tuomitse|vastaan"
    ),
    "asks_essay": (
        r"essay|article|speech|poem|story|letter|blog|op-ed|editorial|"
        r"文章|论文|演讲|短文|essee|artikkel|puhe|kirjoit|teksti"
    ),
    "asks_argument": (
        r"\bargu(?:e|ing|ment)|persua|convinc|make the case|explain why|in favou?r of|"
        r"论证|说服|为什么|perustel|vakuut|miksi"
    ),
}

_ASKS_FOR_TEXT = re.compile("|".join(_ASKS.values()))


def asks_for_a_text(question: str) -> bool:
    """Does the request ask for criticism, an essay-like text or an argument (the QUESTION
    features' kinds of request), rather than a plain question?"""
    return bool(_ASKS_FOR_TEXT.search(question.lower()))


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
    question: bool = True  # QUESTION features (what was asked against what was answered)

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def n_features(self) -> int:
        return len(feature_names(self, hashed=False)) + 2**self.bits


def feature_names(config: FeatureConfig, hashed: bool = True) -> list[str]:
    """Name of each column of featurize(): hashed buckets (`bucket:N`, opening and body share
    them), then STRUCTURAL, the cues and the QUESTION features."""
    names = [f"bucket:{i}" for i in range(2**config.bits)] if hashed else []
    names += list(STRUCTURAL)
    names += list(CUE_FEATURES) if config.cues else []
    names += list(QUESTION) if config.question else []
    return names


@dataclass(frozen=True)
class Parsed:
    answer: str
    trace_chars: int
    trace_only: bool


def split_reasoning(text: str) -> Parsed:
    """The final answer of a reasoning model, and how long its trace was."""
    if _TAG_WORDS[0] not in text and _TAG_WORDS[1] not in text:  # most answers, found fast
        return Parsed(text, 0, False)
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


def _fold(c: np.ndarray) -> np.ndarray:
    """Fold lower-cased code points in place: curly quotes to ', digits 1-9 to 0, every
    whitespace to a space; returns where the spaces are."""
    c[(c == 0x2019) | (c == 0x2018)] = 0x27
    c[(c >= 0x31) & (c <= 0x39)] = 0x30
    space = (c == 32) | ((c >= 9) & (c <= 13)) | (c == 0x85) | (c == 0xA0)
    space |= (c == 0x2028) | (c == 0x2029) | (c == 0x3000)
    c[space] = 32
    return space


_CJK_RANGES = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF))


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


def body_text(answer: str, config: FeatureConfig) -> str:
    if len(answer) <= config.head_chars + config.tail_chars:
        return answer
    return answer[: config.head_chars] + " \u2026 " + answer[-config.tail_chars :]


def _segments(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start offset of each segment and the segment of each position, for segments of these
    lengths laid end to end."""
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return starts, np.repeat(np.arange(len(lengths)), lengths)


def _normalised_batch(strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The code points of every string as the n-grams see them (lower case, straight
    apostrophes, digits as 0, runs of whitespace as one space, none leading), laid end to end,
    and the length of each."""
    lows = [s.lower() for s in strings]
    lengths = np.fromiter(map(len, lows), dtype=np.int64, count=len(lows))
    # uint32 (a copy: frombuffer's array is read-only): half the memory traffic of uint64.
    c = np.frombuffer("".join(lows).encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(
        np.uint32
    )
    space = _fold(c)
    starts, seg = _segments(lengths)
    # A space right after a space goes, and so does a leading one.
    after_space = np.empty(len(c), dtype=bool)
    after_space[1:] = space[:-1]
    after_space[starts[lengths > 0]] = True
    keep = ~(space & after_space)
    return c[keep], np.bincount(seg[keep], minlength=len(lengths)).astype(np.int64)


def _ngram_keys(c: np.ndarray, lengths: np.ndarray, config: FeatureConfig):
    """For each n (ngram_min..ngram_max): the key (segment << bits | bucket) of the n-gram
    starting at each position of the segments laid end to end, each padded with a space at
    both ends (the hashes the module docstring describes, over a whole batch at once; the
    recipe one n-gram at a time is beacon_pipelines_tests/support/per_answer_reference.py's
    ngram_buckets, which a test holds this to bit for bit); an
    n-gram that runs past its segment's end gets the key `sentinel` (segment len(lengths)),
    which sorts last. Also the padded segments' starts. Keys are uint32 when they fit
    (sorting is twice as fast)."""
    n_rows = len(lengths)
    dtype = np.uint32 if n_rows.bit_length() + config.bits <= 32 else np.uint64
    padded_lengths = lengths + 2
    padded_starts, padded_seg = _segments(padded_lengths)
    starts, _ = _segments(lengths)
    padded = np.full(int(padded_lengths.sum()), 32, dtype=np.uint64)
    padded[np.arange(len(c)) + np.repeat(padded_starts + 1 - starts, lengths)] = c
    rows = padded_seg.astype(dtype) << dtype(config.bits)
    ends = padded_starts + padded_lengths
    sentinel = dtype(n_rows) << dtype(config.bits)
    shift = np.uint64(64 - config.bits)
    salt = _REGION_SALT["body"]
    h = padded.copy()
    out = []
    for n in range(1, config.ngram_max + 1):
        if n > 1:
            h = h[:-1] * _PRIME + padded[n - 1 :]
        if n >= config.ngram_min:
            salted = h ^ np.uint64((salt + 0x9E37 * n) & 0xFFFFFFFFFFFFFFFF)
            keys = ((salted * _MIX) >> shift).astype(dtype)
            keys |= rows[: len(h)]
            # The n-grams starting in the last n - 1 positions of a segment run past it.
            past = (ends[:, None] - np.arange(1, n)).ravel()
            keys[past[(past >= 0) & (past < len(keys))]] = sentinel
            out.append((n, keys))
    return out, padded_starts, sentinel


def _sorted_by_text(
    parts: list[np.ndarray], padded_starts: np.ndarray, padded_lengths: np.ndarray, keep
) -> np.ndarray:
    """The values of `parts` below `keep`, sorted: np.sort of them all, for values that start
    with their text's index (as _ngram_keys' keys do) in arrays laid out as the padded texts
    end to end (position p of each part is of the text whose padded segment holds p).

    Sorted text by text, several times faster than one sort of the whole batch: a text's
    values sort in the CPU's caches, texts of similar length side by side as the rows of a
    2-D array sorted along its rows (padded with the dtype's largest value)."""
    n = len(padded_lengths)
    dtype = parts[0].dtype
    n_parts = len(parts)
    if n == 0:
        return np.zeros(0, dtype=dtype)
    # Texts whose lengths are within a factor of 2**0.25 of each other share a bin.
    bin_of = np.floor(np.log2(np.maximum(padded_lengths, 1)) * 4).astype(np.int64)
    bins, bin_index = np.unique(bin_of, return_inverse=True)
    bin_rows = np.bincount(bin_index, minlength=len(bins))
    widths = np.zeros(len(bins), dtype=np.int64)
    np.maximum.at(widths, bin_index, padded_lengths)
    widths *= n_parts  # a row holds every part's values of its text
    bin_base = np.zeros(len(bins) + 1, dtype=np.int64)
    np.cumsum(bin_rows * widths, out=bin_base[1:])
    order = np.argsort(bin_index, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - np.repeat(np.cumsum(bin_rows) - bin_rows, bin_rows)
    row_width = widths[bin_index]
    row_base = bin_base[bin_index] + rank * row_width
    buffer = np.full(int(bin_base[-1]), np.iinfo(dtype).max, dtype=dtype)
    # Where each position of the first part goes; part j, a text's part width further.
    at = np.repeat(row_base - padded_starts, padded_lengths) + np.arange(int(padded_lengths.sum()))
    part_width = np.repeat(row_width // n_parts, padded_lengths)
    for j, part in enumerate(parts):
        buffer[at[: len(part)] + j * part_width[: len(part)]] = part
    kept = np.empty(n, dtype=np.int64)  # values below `keep` of each text
    first_row = 0
    for b in range(len(bins)):
        rows = buffer[bin_base[b] : bin_base[b + 1]].reshape(int(bin_rows[b]), int(widths[b]))
        rows.sort(axis=1)
        kept[order[first_row : first_row + len(rows)]] = (rows < keep).sum(axis=1)
        first_row += len(rows)
    first = np.cumsum(kept) - kept
    return buffer[np.repeat(row_base - first, kept) + np.arange(int(kept.sum()))]


_SUBLINEAR = 1.0 + np.log(np.maximum(np.arange(256), 1))  # 1 + log(count), looked up


def _block_keys(
    keys: np.ndarray, sentinel, n_rows: int, bits: int, weight: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The block of every row (sublinear term frequencies, L2-normalised to `weight`), from
    the key (row << bits | bucket) of each of its n-grams:
    (rows, columns, values) sorted by row then column; `sentinel` keys are dropped."""
    keys = np.sort(keys)  # np.sort is SIMD; np.unique is 5x slower here
    keys = keys[: np.searchsorted(keys, sentinel)]
    rows, cols, values, _ = _sorted_block(keys, n_rows, bits, weight)
    return rows, cols, values


def _sorted_block(
    keys: np.ndarray, n_rows: int, bits: int, weight: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """_block_keys of keys already sorted (no sentinel), and how many keys each entry has."""
    first = np.empty(len(keys), dtype=bool)
    first[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    at = np.flatnonzero(first)
    counts = np.diff(at, append=len(keys))
    keys = keys[at]
    r = (keys >> keys.dtype.type(bits)).astype(np.intp)
    values = _SUBLINEAR[np.minimum(counts, len(_SUBLINEAR) - 1)]
    long_tail = counts >= len(_SUBLINEAR)
    if long_tail.any():
        values[long_tail] = 1.0 + np.log(counts[long_tail])
    norms = np.sqrt(np.bincount(r, weights=values * values, minlength=n_rows))
    values *= weight / norms[r]
    return r, (keys & keys.dtype.type((1 << bits) - 1)).astype(np.int32), values, counts


def _entry_of_sorted(packed: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """_entry_of_each, from the n keys already packed with their indices and sorted."""
    order = (packed & np.uint64(0xFFFFFFFF)).astype(np.intp)
    ordered = (packed >> np.uint64(32)).astype(np.uint32)
    first = np.empty(n, dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    entry = np.empty(n, dtype=np.intp)
    entry[order] = np.cumsum(first) - 1
    return ordered, entry


def _entry_of_each(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The keys sorted, and the index in the sorted keys' distinct values (the block's
    entries) of each key as given: one sort of (key, position) pairs packed in 64 bits,
    several times cheaper than looking each key up in the sorted entries."""
    if len(keys) == 0:
        return keys, np.zeros(0, dtype=np.intp)
    if keys.dtype == np.uint32 and len(keys) < 2**32:
        packed = np.sort((keys.astype(np.uint64) << np.uint64(32)) | np.arange(
            len(keys), dtype=np.uint64))
        return _entry_of_sorted(packed, len(keys))
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    first = np.empty(len(ordered), dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    entry = np.empty(len(ordered), dtype=np.intp)
    entry[order] = np.cumsum(first) - 1
    return ordered, entry


def _hashed_blocks(
    strings: Sequence[str], config: FeatureConfig
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The n-gram blocks of each string, (rows, columns, values) by row: "body" reads the
    whole (normalised) string, "open" its first opening_chars code points."""
    codes, lengths = _normalised_batch(strings)
    return _blocks(codes, lengths, config)


def _blocks(
    codes: np.ndarray, lengths: np.ndarray, config: FeatureConfig
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """_hashed_blocks of strings already normalised and laid end to end.

    Both regions hash an n-gram to the same bucket, the opening's moved by half the table, so
    a text no longer than the opening has its opening block for free: its body block, moved.
    Only longer texts have their openings counted apart."""
    return _blocks_of_keys(_ngram_keys(codes, lengths, config), lengths, config)


def _blocks_of_keys(
    ngram_keys, lengths: np.ndarray, config: FeatureConfig
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """_blocks, given the _ngram_keys of the texts."""
    n = len(lengths)
    grams, padded_starts, sentinel = ngram_keys
    keys = _sorted_by_text([k for _, k in grams], padded_starts, lengths + 2, sentinel)
    body = _sorted_block(keys, n, config.bits, 1.0)[:3]
    blocks = {"body": body}
    short = lengths <= config.opening_chars
    if short.all():  # every opening is its text's body, moved and weighted
        blocks["open"] = (body[0], _opening_columns(body[1], config.bits),
                          body[2] * config.opening_weight)
        return blocks
    own = short[body[0]]
    opening_keys = [
        keys[_opening_positions(gram, padded_starts[~short], config)] for gram, keys in grams
    ]
    long_block = _block_keys(
        np.concatenate(opening_keys), sentinel, n, config.bits, 1.0
    )
    rows = np.concatenate((body[0][own], long_block[0]))
    order = np.argsort(rows, kind="stable")
    cols = _opening_columns(np.concatenate((body[1][own], long_block[1])), config.bits)
    values = np.concatenate((body[2][own], long_block[2])) * config.opening_weight
    blocks["open"] = (rows[order], cols[order], values[order])
    return blocks


def _opening_positions(gram: int, long_starts: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Where the n-grams of `gram` code points of each long text's opening start (in the keys
    of _ngram_keys, given the padded starts of those texts): the n-grams within the padded
    segment's first opening_chars + 1 positions (the leading space and the opening)."""
    span = np.arange(config.opening_chars + 2 - gram)
    return (long_starts[:, None] + span).ravel()


def _opening_columns(buckets: np.ndarray, bits: int) -> np.ndarray:
    """The opening block's column of each bucket: the body's, moved by half the table."""
    return (buckets + (1 << (bits - 1))) & ((1 << bits) - 1)


@dataclass(frozen=True)
class NgramOccurrences:
    """Every n-gram occurrence featurize() counts in the n-gram blocks of a batch of strings,
    with the share of its block's feature value it carries: per string, an occurrence's
    `value` times its column's weight, summed over both blocks, is exactly that string's
    n-gram score."""

    codes: np.ndarray  # the normalised code points of the strings, laid end to end
    lengths: np.ndarray  # the code points of each string
    row: np.ndarray  # per occurrence: its string
    column: np.ndarray  # its feature column (the opening's moved by half the table)
    value: np.ndarray  # its column's feature value over that column's occurrences in its block
    start: np.ndarray  # where it starts in the strings, each padded with a space at each end,
    # laid end to end

    @property
    def position(self) -> np.ndarray:
        """Where each occurrence starts in its string padded with a space at each end."""
        padded = self.lengths + 2
        return self.start - (np.cumsum(padded) - padded)[self.row]


def ngram_occurrences(strings: Sequence[str], config: FeatureConfig) -> NgramOccurrences:
    """The n-gram occurrences of each string (as featurize() reads an answer: its body_text)
    in its body then its opening block (ngram_occurrences_by_block, laid end to end)."""
    codes, lengths, blocks = ngram_occurrences_by_block(strings, config)
    return NgramOccurrences(
        codes, lengths, *(np.concatenate(part) for part in zip(*blocks, strict=True))
    )


Occurrences = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # row, column, value, start


def ngram_occurrences_by_block(
    strings: Sequence[str], config: FeatureConfig
) -> tuple[np.ndarray, np.ndarray, list[Occurrences]]:
    """The normalised code points and length of each string, and the n-gram occurrences of
    its body block, then of its opening block (NgramOccurrences' fields, apart: a text no
    longer than the opening has the same occurrences in both, and the arrays are then
    shared), with featurize()'s own keys and block arithmetic (_sorted_block): each
    occurrence's entry is found by sorting the occurrences once."""
    codes, lengths = _normalised_batch(strings)
    grams, padded_starts, sentinel = _ngram_keys(codes, lengths, config)
    n, bits = len(lengths), config.bits
    dtype = grams[0][1].dtype.type if grams else np.uint32
    short = lengths <= config.opening_chars
    mask = dtype((1 << bits) - 1)

    def located(at_of_gram: list[np.ndarray]):
        keys = np.concatenate([keys[at] for (_, keys), at in zip(grams, at_of_gram, strict=True)])
        row = (keys >> dtype(bits)).astype(np.int64)
        return keys, row, (keys & mask).astype(np.int64), np.concatenate(at_of_gram)

    # The body: every n-gram within its text.
    body_at = [np.flatnonzero(keys != sentinel) for _, keys in grams]
    keys, body_row, body_bucket, body_start = located(body_at)
    if keys.dtype == np.uint32 and len(keys) < 2**32:
        # Each key packed with its index among the body's n-grams, sorted text by text.
        fill = np.iinfo(np.uint64).max
        packed, offset = [], 0
        for (_, part), at in zip(grams, body_at, strict=True):
            out = np.full(len(part), fill, dtype=np.uint64)
            out[at] = (part[at].astype(np.uint64) << np.uint64(32)) | np.arange(
                offset, offset + len(at), dtype=np.uint64)
            packed.append(out)
            offset += len(at)
        ordered, body_entry = _entry_of_sorted(
            _sorted_by_text(packed, padded_starts, lengths + 2, fill), len(keys))
    else:
        ordered, body_entry = _entry_of_each(keys)
    _, _, body_values, body_counts = _sorted_block(ordered, n, bits, 1.0)
    body = (body_row, body_bucket, (body_values / body_counts)[body_entry], body_start)
    # The opening: a short text's is its body (the same entries, moved and weighted); a long
    # text's, the n-grams of its first positions, counted apart.
    short_value = (body_values * config.opening_weight / body_counts)[body_entry]
    if short.all():
        return codes, lengths, [body, (
            body_row, _opening_columns(body_bucket, bits), short_value, body_start)]
    own = short[body_row]
    long_at = [_opening_positions(gram, padded_starts[~short], config) for gram, _ in grams]
    long_keys, long_row, long_bucket, long_start = located(long_at)
    ordered, long_entry = _entry_of_each(long_keys)
    _, _, long_values, long_counts = _sorted_block(ordered, n, bits, 1.0)
    long_value = (long_values * config.opening_weight / long_counts)[long_entry]
    # In featurize's order: per n-gram length, the short texts' n-grams then the long ones'.
    sizes = [len(at) for at in body_at]
    own_sizes = [int(part.sum()) for part in np.split(own, np.cumsum(sizes)[:-1])]
    long_sizes = [len(at) for at in long_at]

    def interleave(short_part: np.ndarray, long_part: np.ndarray) -> np.ndarray:
        pieces = zip(np.split(short_part[own], np.cumsum(own_sizes)[:-1]),
                     np.split(long_part, np.cumsum(long_sizes)[:-1]), strict=True)
        return np.concatenate([p for pair in pieces for p in pair])

    opening = (
        interleave(body_row, long_row),
        _opening_columns(interleave(body_bucket, long_bucket), bits),
        interleave(short_value, long_value),
        interleave(body_start, long_start),
    )
    return codes, lengths, [body, opening]


BATCH = 2048  # texts featurized at once: bounds the memory of a 100k-answer analysis


def featurize(
    texts: Sequence[str | None],
    config: FeatureConfig,
    questions: Sequence[str | None] | None = None,
) -> sp.csr_matrix:
    """(len(texts), config.n_features) sparse matrix of the features of each text; `questions`
    (what each answer was asked, None where unknown) feed the QUESTION features of a config
    that has them."""
    if questions is not None and len(questions) != len(texts):
        raise ValueError(f"{len(questions)} questions for {len(texts)} answers")
    if len(texts) <= BATCH:
        return _featurize(texts, config, questions)
    parts = []
    for i in range(0, len(texts), BATCH):
        asked = None if questions is None else questions[i : i + BATCH]
        parts.append(_featurize(texts[i : i + BATCH], config, asked))
    return sp.vstack(parts, format="csr")


CHUNK_CHARS = 250_000  # characters read per chunk: its arrays stay in the CPU's caches


def _chunks(texts: Sequence[str | None], config: FeatureConfig) -> list[tuple[int, int]]:
    """(start, end) of runs of at most BATCH texts reading about CHUNK_CHARS characters:
    one pass over a batch of long answers laid end to end spills out of the caches, and
    costs more than the per-answer overhead it saves."""
    cap = config.head_chars + config.tail_chars
    chunks, start, total = [], 0, 0
    for i, text in enumerate(texts):
        total += min(len(text), cap) if isinstance(text, str) else 0
        if total >= CHUNK_CHARS or i + 1 - start >= BATCH:
            chunks.append((start, i + 1))
            start, total = i + 1, 0
    if start < len(texts) or not chunks:
        chunks.append((start, len(texts)))
    return chunks


def _featurize(
    texts: Sequence[str | None],
    config: FeatureConfig,
    questions: Sequence[str | None] | None = None,
) -> sp.csr_matrix:
    """featurize() of one batch, every step over the whole batch at once (numpy and Arrow):
    per-answer Python and numpy calls cost more than the arithmetic.

    Column indices within a row may repeat (the opening and body blocks can share a bucket):
    products with a weight vector sum them, as they should; call sum_duplicates() before
    anything that needs canonical CSR."""
    n = len(texts)
    parsed = [split_reasoning(raw if isinstance(raw, str) else "") for raw in texts]
    answers = [p.answer.lstrip() for p in parsed]
    bodies = [body_text(a, config) for a in answers]
    # The code point arithmetic in chunks whose arrays stay in the CPU's caches; the regexes
    # (Arrow compiles each pattern once per call) over the whole batch.
    openings, body_blocks, scripts = [], [], []
    for start, end in _chunks(bodies, config):
        codes, lengths = _normalised_batch(bodies[start:end])
        blocks = _blocks(codes, lengths, config)
        for region, out in (("open", openings), ("body", body_blocks)):
            rows, cols, values = blocks[region]
            out.append((rows + start, cols, values))
        scripts.append(_script_features(codes, lengths, config.tail_chars))
    opening, body = (
        tuple(np.concatenate(part) for part in zip(*triples, strict=True))
        for triples in (openings, body_blocks)
    )
    dense = [_structural_batch(parsed, np.vstack(scripts))]
    if config.cues:
        dense.append(cue_matrix(answers) * CUE_WEIGHT)
    if config.question:
        dense.append(_question_features(answers, questions, opening, body, config))
    extra = np.hstack(dense)
    extra_rows, extra_cols = np.nonzero(extra)
    parts = [
        (opening[0], opening[1], opening[2]),
        (body[0], body[1], body[2]),
        (extra_rows, extra_cols + 2**config.bits, extra[extra_rows, extra_cols]),
    ]
    # Each part is sorted by row: lay each row's entries of every part side by side.
    counts = [np.bincount(rows, minlength=n) for rows, _, _ in parts]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sum(counts), out=indptr[1:])
    total = int(indptr[-1])
    # int32 column indices, as scipy keeps them (it would copy int64 ones down).
    cols = np.empty(total, dtype=np.int32)
    values = np.empty(total, dtype=np.float64)
    before = indptr[:-1].copy()  # where each row's entries of the next part go
    for (rows, c, v), count in zip(parts, counts, strict=True):
        # An entry's place: its row's next free one, plus how many of its row precede it.
        at = (before - (np.cumsum(count) - count))[rows] + np.arange(len(rows))
        cols[at] = c
        values[at] = v
        before += count
    return sp.csr_matrix((values, cols, indptr), shape=(n, config.n_features))


def _structural_batch(parsed: Sequence[Parsed], scripts: np.ndarray) -> np.ndarray:
    """STRUCTURAL features of each answer (rows), given the _script_features of each."""
    n = len(parsed)
    heads = arrow_strings([p.answer[:4000] for p in parsed])
    n_chars = np.fromiter((len(p.answer.strip()) for p in parsed), dtype=np.float64, count=n)
    trace = np.fromiter((p.trace_chars for p in parsed), dtype=np.float64, count=n)
    trace_only = np.fromiter((p.trace_only for p in parsed), dtype=np.float64, count=n)

    def counts(pattern: str) -> np.ndarray:
        return pc.count_substring_regex(heads, pattern).to_numpy(zero_copy_only=False)

    return np.column_stack(
        [
            np.log1p(n_chars) / 10,
            np.log1p(trace) / 10,
            trace_only,
            (trace > 0).astype(np.float64),
            scripts[:, 0],
            scripts[:, 1],
            np.minimum(counts(_LIST_RE2), 20) / 20,
            np.minimum(counts(_HEADING_RE2), 10) / 10,
            np.minimum(pc.count_substring(heads, "\n\n").to_numpy(zero_copy_only=False), 20) / 20,
            (n_chars < 400).astype(np.float64),
            scripts[:, 2],
            scripts[:, 3],
            scripts[:, 4],
        ]
    )


def _script_features(body: np.ndarray, lengths: np.ndarray, tail_chars: int) -> np.ndarray:
    """Per body (rows), from their normalised code points laid end to end: CJK share, Latin
    share, script switches in the head and in the tail, share of other scripts' letters."""
    n = len(lengths)
    script = _scripts(body)
    starts, seg = _segments(lengths)
    safe = np.maximum(lengths, 1)
    letter = script > 0

    def per_row(mask: np.ndarray) -> np.ndarray:
        return np.bincount(seg[mask], minlength=n).astype(np.float64)

    letters = per_row(letter)
    position = np.arange(len(body)) - starts[seg]
    seg_length = lengths[seg]
    in_tail = position >= seg_length - tail_chars
    # The head is all but the tail when the body is over twice the tail, else the whole body.
    in_head = ~in_tail | (seg_length <= 2 * tail_chars)
    return np.column_stack(
        [
            per_row(script == 2) / safe,
            per_row(script == 1) / safe,
            _switch_rates(script, seg, in_head & letter, n),
            _switch_rates(script, seg, in_tail & letter, n),
            per_row(script == 3) / np.maximum(letters, 1),
        ]
    )


def _switch_rates(script: np.ndarray, seg: np.ndarray, chosen: np.ndarray, n: int) -> np.ndarray:
    """Changes of script between consecutive chosen letters of each segment, per letter (times
    10, at most 1): degenerate output ("rule of law 侵犯空间 பா extradition") switches many
    times a line, a Chinese answer quoting English terms a few times a paragraph."""
    at = np.flatnonzero(chosen)
    s, g = script[at], seg[at]
    switch = (g[1:] == g[:-1]) & (s[1:] != s[:-1])
    letters = np.bincount(g, minlength=n)
    switches = np.bincount(g[1:][switch], minlength=n)
    rate = np.minimum(switches / np.maximum(letters - 1, 1) * 10, 1.0)
    return np.where(letters >= 2, rate, 0.0)


def _row_products(
    asked: tuple[np.ndarray, np.ndarray, np.ndarray],
    which: np.ndarray,
    block: tuple[np.ndarray, np.ndarray, np.ndarray],
    n: int,
    bits: int,
) -> np.ndarray:
    """Dot product of each answer's block with its question's (row which[i] of `asked`): the
    entries they share, found by a sorted join on (question, bucket)."""
    q_keys = asked[0].astype(np.int64) << bits | asked[1]
    order = np.argsort(q_keys)  # few: the distinct questions' n-grams
    q_keys, q_values = q_keys[order], asked[2][order]
    if len(q_keys) == 0:
        return np.zeros(n)
    rows, cols, values = block
    # Most of an answer's n-grams are in no question: a bitmap of the questions' buckets
    # (small enough for the CPU's caches) leaves only the candidates to look up.
    asked_bucket = np.zeros(1 << bits, dtype=bool)
    asked_bucket[asked[1]] = True
    candidate = np.flatnonzero(asked_bucket[cols])
    rows, values = rows[candidate], values[candidate]
    a_keys = which[rows] << bits | cols[candidate]
    at = np.minimum(np.searchsorted(q_keys, a_keys), len(q_keys) - 1)
    shared = q_keys[at] == a_keys
    products = np.bincount(rows[shared], weights=values[shared] * q_values[at[shared]], minlength=n)
    return products.astype(np.float64)  # bincount of nothing is int


def _question_features(
    answers: Sequence[str],
    questions: Sequence[str | None] | None,
    opening: tuple[np.ndarray, np.ndarray, np.ndarray],
    body: tuple[np.ndarray, np.ndarray, np.ndarray],
    config: FeatureConfig,
) -> np.ndarray:
    """QUESTION features of each answer, given the n-gram blocks of its opening and body."""
    n = len(answers)
    out = np.zeros((n, len(QUESTION)))
    if questions is None:
        return out
    has = np.array([isinstance(q, str) and bool(q.strip()) for q in questions])
    if not has.any():
        return out
    # An audit asks a few questions many times: each distinct one is read once.
    index: dict[str, int] = {}
    which = np.fromiter(
        (index.setdefault(q if isinstance(q, str) else "", len(index)) for q in questions),
        dtype=np.int64,
        count=n,
    )
    distinct = list(index)
    asked_blocks = _hashed_blocks(distinct, config)
    cosines = []
    for region, block in (("open", opening), ("body", body)):
        cosines.append(_row_products(asked_blocks[region], which, block, n, config.bits))
    # Each block has norm 1 (openings opening_weight): the product is the cosine.
    cosines[0] /= config.opening_weight**2
    out[:, 0] = 1.0
    out[:, 1], out[:, 2] = cosines
    bin_index = np.searchsorted(_COS_BINS, cosines[1], side="right")
    out[np.arange(n), 3 + bin_index] = 1.0
    lowered = pc.utf8_lower(arrow_strings(distinct))
    for i, pattern in enumerate(_ASKS.values()):
        asks = pc.match_substring_regex(lowered, pattern).to_numpy(zero_copy_only=False)
        out[:, 8 + i] = asks[which]
    balance = pc.match_substring_regex(
        pc.utf8_lower(arrow_strings([a[:3000] for a in answers])), CUES["balance"]
    ).to_numpy(zero_copy_only=False)
    out[:, 11] = (out[:, 8].astype(bool) | out[:, 10].astype(bool)) & balance
    out[~has] = 0.0
    return out
