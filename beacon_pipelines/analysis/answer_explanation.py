"""Why the classifier gave an answer its class: its confidence, the named refusal cues and the
words of the answer that pushed it hardest toward that class.

- confidence: the model's probability of the class it chose (1.0 for a technical failure,
  which is a fact about the call, not a guess);
- cues: the named English cues (`refusal_cues`) present in the answer whose weights push
  toward the chosen class rather than the runner-up, strongest first, and the short-answer
  rule of `classify.py` when it overruled the model;
- words: the answer's words (for text without spaces, such as Chinese, runs of up to
  CHUNK_CHARS characters) whose character n-grams push hardest toward the chosen class: each
  n-gram's feature value times its weight difference (chosen minus runner-up), shared among
  its occurrences, summed per word over the opening and body blocks the model reads.

Cues and words cost about half as much again as classifying the answer, so they are computed
only for the answers a reviewer checks: those withheld (refusal, partial refusal) and those the
classifier is unsure of (confidence below EXPLAIN_BELOW). Each distinct text is explained once,
the words of a batch of texts in one pass of numpy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from beacon_pipelines.analysis.classify import ResponseClass, ScoredClasses
from beacon_pipelines.analysis.refusal_cues import CUE_INDEX, extract_features
from beacon_pipelines.analysis.refusal_features import (
    _REGION_SALT,
    BATCH,
    CUE_WEIGHT,
    STRUCTURAL,
    FeatureConfig,
    _ngram_buckets,
    _normalised_codepoints,
    body_text,
    split_reasoning,
)
from beacon_pipelines.analysis.refusal_model import CLASSES, RefusalModel

EXPLAIN_BELOW = 0.75  # substantive answers less certain than this are explained too
MAX_CUES = 3
MAX_WORDS = 3
MAX_WORD_CHARS = 40  # a displayed word is cut to this many characters
# Unspaced scripts (Chinese, Japanese, Korean) run whole clauses together: their "words", and
# any word longer than LONG_WORD, are read in chunks of CHUNK_CHARS characters.
CHUNK_CHARS = 6
LONG_WORD = 24
_UNSPACED = ((0x2E80, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF))
WORD_SEPARATOR = " | "  # words hold no whitespace, so this never occurs inside one
CALL_FAILED = "call failed"
NO_TEXT = "empty: no letter or digit"
SHORT_ANSWER_RULE = "short-answer rule (the model alone said substantive)"
_SPACE = 32
# The whitespace the n-gram normalisation collapses (refusal_features._normalised_codepoints).
_WHITESPACE = re.compile("[\t-\r \x85\xa0\u2028\u2029\u3000]+")
_PUNCTUATION = "\"'.,;:!?()[]{}<>«»“”‘’*_`~"


@dataclass(frozen=True)
class Explanation:
    confidence: float
    cues: str = ""  # named cues (and the rule), comma-separated, strongest first
    words: str = ""  # the deciding words, WORD_SEPARATOR-separated, strongest first


class AnswerExplainer:
    """Explains the classes one RefusalModel gave; built once per analysis."""

    def __init__(self, model: RefusalModel):
        self.config: FeatureConfig = model.config.features
        coef = np.asarray(model.coef, dtype=np.float64)
        # Row p of _toward: the weight of each feature toward class c against class r, for
        # the p-th pair (c, r) of _pairs.
        self._pairs = [(c, r) for c in range(len(CLASSES)) for r in range(len(CLASSES)) if c != r]
        self._toward = np.stack([coef[:, c] - coef[:, r] for c, r in self._pairs])
        self._cue_base = 2**self.config.bits + len(STRUCTURAL)

    def explain(self, texts: Sequence[str | None], scored: ScoredClasses) -> list[Explanation]:
        """One explanation per text, from the classifier's scored classes of those texts
        (a text None: the call failed)."""
        out: list[Explanation] = []
        todo: list[tuple[int, str, int]] = []  # (index, final answer, pair)
        for i, (text, cls, probs) in enumerate(
            zip(texts, scored.classes, scored.probabilities, strict=True)
        ):
            if cls is ResponseClass.TECHNICAL_FAILURE:
                out.append(Explanation(1.0, CALL_FAILED if text is None else NO_TEXT))
                continue
            chosen = CLASSES.index(cls.value)
            out.append(Explanation(float(probs[chosen])))
            if cls is ResponseClass.SUBSTANTIVE and probs[chosen] >= EXPLAIN_BELOW:
                continue
            runner_up = max((k for k in range(len(CLASSES)) if k != chosen),
                            key=lambda k: probs[k])
            answer = split_reasoning(text).answer.lstrip()  # type: ignore[arg-type]
            todo.append((i, answer, self._pairs.index((chosen, runner_up))))
        for begin in range(0, len(todo), BATCH):
            batch = todo[begin : begin + BATCH]
            words = self._words([a for _, a, _ in batch], np.array([p for _, _, p in batch]))
            for (i, answer, pair), found in zip(batch, words, strict=True):
                cues = self._cues(answer, pair)
                if scored.model_classes[i] is not scored.classes[i]:
                    cues.insert(0, SHORT_ANSWER_RULE)
                out[i] = Explanation(out[i].confidence, ", ".join(cues),
                                     WORD_SEPARATOR.join(found))
        return out

    def _cues(self, answer: str, pair: int) -> list[str]:
        if not self.config.cues:
            return []
        toward = self._toward[pair]
        # A density bucket of 0 says what is absent; the cues shown are what the answer says.
        pushes = [
            (CUE_WEIGHT * toward[self._cue_base + CUE_INDEX[name]], name)
            for name in set(extract_features(answer))
            if not (name.startswith("share:") and name.endswith(":0"))
        ]
        strongest = sorted((p for p in pushes if p[0] > 0), reverse=True)
        return [name for _, name in strongest[:MAX_CUES]]

    def _words(self, answers: list[str], pairs: np.ndarray) -> list[list[str]]:
        """The deciding words of each answer; `pairs`: the row of _toward of each."""
        config = self.config
        sources = [body_text(a, config) for a in answers]
        body = block_units(
            [_normalised_codepoints(s) for s in sources],
            config, _REGION_SALT["body"], 1.0, self._toward, pairs,
        )
        opening = block_units(
            [_normalised_codepoints(a[: config.opening_chars * 2])[: config.opening_chars]
             for a in answers],
            config, _REGION_SALT["open"], config.opening_weight, self._toward, pairs,
        )
        if body is None or opening is None:
            return [[] for _ in answers]
        pushes = body.pushes.copy()
        # The opening is the body's beginning, cut into the same units: the k-th unit of an
        # answer's opening is the k-th of its body (the opening's last word may be cut short).
        k = opening.index_in_text()
        fits = k < body.units_of_text()[opening.owner]
        np.add.at(pushes, body.units_before[opening.owner[fits]] + k[fits], opening.pushes[fits])
        # Units by answer, strongest first.
        order = np.lexsort((-pushes, body.owner))
        bounds = np.searchsorted(body.owner[order], np.arange(len(answers) + 1))
        out = []
        for t, source in enumerate(sources):
            ranked = order[bounds[t] : bounds[t + 1]][: MAX_WORDS * 4]
            found: dict[str, str] = {}
            written = None
            for unit in ranked.tolist():
                if pushes[unit] <= 0 or len(found) == MAX_WORDS:
                    break
                if written is None:
                    written = [w for w in _WHITESPACE.split(source) if w]
                # A word that comes twice is shown once, at its strongest.
                found.setdefault(body.key(unit), _display(body.written(unit, written)))
            out.append(list(found.values()))
        return out


@dataclass(frozen=True)
class BlockUnits:
    """The units of one block (opening or body) of a batch of answers, and how hard each
    pushes toward a class. A unit is a word, or a chunk of a long or unspaced one."""

    text: str  # the answers' normalised blocks, each padded with a space at each end
    owner: np.ndarray  # per unit: which answer of the batch it is from
    first: np.ndarray  # where it starts in `text`
    length: np.ndarray  # its characters
    pushes: np.ndarray  # the sum of its n-grams' pushes: an answer's units sum to its score
    word: np.ndarray  # its word's index within its answer
    offset: np.ndarray  # where it starts in that word
    word_length: np.ndarray  # the characters of that word
    units_before: np.ndarray  # per answer: units of the answers before it

    def units_of_text(self) -> np.ndarray:
        return np.diff(np.append(self.units_before, len(self.owner)))

    def index_in_text(self) -> np.ndarray:
        return np.arange(len(self.owner)) - self.units_before[self.owner]

    def key(self, unit: int) -> str:
        a = int(self.first[unit])
        return self.text[a : a + int(self.length[unit])]

    def written(self, unit: int, words: list[str]) -> str:
        """The unit as the answer wrote it (case and digits kept), when the written word
        (`words`: the answer's block split on whitespace) lines up with the normalised one."""
        w, key = int(self.word[unit]), self.key(unit)
        if w < len(words) and len(words[w]) == int(self.word_length[unit]):
            off = int(self.offset[unit])
            return words[w][off : off + len(key)]
        return key


def block_units(
    blocks: list[np.ndarray],
    config: FeatureConfig,
    salt: int,
    weight: float,
    toward: np.ndarray,
    pairs: np.ndarray,
) -> BlockUnits | None:
    """The units of one block of each answer (`blocks`: its normalised code points) and their
    pushes along row pairs[i] of `toward` (a weight per feature) for answer i; None when the
    hashing's layout is not the one this module knows."""
    bits = config.bits
    buckets = [_ngram_buckets(codes, config, salt) for codes in blocks]
    # The hashing pads each block with a space at each end and gives, for n = ngram_min ..
    # ngram_max, the n-grams starting at 0, 1, ... of the padded block: one run per (block, n).
    padded = np.array([len(codes) + 2 for codes in blocks], dtype=np.int64)
    sizes = np.arange(config.ngram_min, config.ngram_max + 1)
    runs = np.maximum(padded[:, None] - sizes[None, :] + 1, 0)  # (block, n) run lengths
    runs[padded[:, None] < sizes[None, :]] = 0
    if not np.array_equal(runs.sum(axis=1), [len(b) for b in buckets]):
        return None
    bucket = np.concatenate(buckets) if buckets else np.zeros(0, dtype=np.int64)
    run_lengths = runs.ravel()
    run_first = np.cumsum(run_lengths) - run_lengths  # where each run starts in `bucket`
    block_at = np.cumsum(padded) - padded  # where each padded block starts in `chars`
    run_block = np.repeat(np.arange(len(blocks)), runs.shape[1])
    # The start of each n-gram in the concatenated padded blocks.
    start = np.arange(len(bucket)) + np.repeat(block_at[run_block] - run_first, run_lengths)
    owner = np.repeat(run_block, run_lengths)
    # Each answer's feature values as refusal_features makes them: sublinear term frequency,
    # L2-normalised to `weight`; an n-gram seen k times has one value, a k-th per occurrence.
    keys, column, occurrences = np.unique(
        owner * (1 << bits) + bucket, return_inverse=True, return_counts=True
    )
    values = 1.0 + np.log(occurrences)
    key_owner = keys >> bits
    norms = np.sqrt(np.bincount(key_owner, weights=values * values, minlength=len(blocks)))
    values *= weight / norms[key_owner]
    push = (values / occurrences)[column] * toward[pairs[owner], bucket]

    pad = np.array([_SPACE], dtype=np.uint64)
    chars = np.concatenate([part for codes in blocks for part in (pad, codes, pad)]).astype(
        np.int64
    )
    char_owner = np.repeat(np.arange(len(blocks)), padded)
    space = chars == _SPACE
    letters = ~space
    word_start = letters & np.concatenate(([True], space[:-1]))
    word = np.cumsum(word_start) - 1
    in_word = np.maximum(word, 0)
    first = np.flatnonzero(word_start)
    n_words = len(first)
    word_length = np.bincount(word[letters], minlength=n_words)
    unspaced = np.zeros(len(chars), dtype=bool)
    for lo, hi in _UNSPACED:
        unspaced |= (chars >= lo) & (chars <= hi)
    chunked = (word_length > LONG_WORD) | (
        (np.bincount(word[letters], weights=unspaced[letters], minlength=n_words) > 0)
        & (word_length > CHUNK_CHARS)
    )
    offset = np.arange(len(chars)) - first[in_word] if n_words else np.zeros(len(chars), int)
    unit_start = word_start.copy()
    if n_words:
        unit_start |= letters & chunked[in_word] & (offset % CHUNK_CHARS == 0)
    cumulative = np.cumsum(unit_start)
    unit = np.where(space, cumulative, cumulative - 1)  # a space: the unit after it
    unit_first = np.flatnonzero(unit_start)
    n_units = len(unit_first)
    unit_owner = char_owner[unit_first]
    units_before = np.searchsorted(unit_owner, np.arange(len(blocks)))
    last_unit = np.append(units_before[1:], n_units) - 1  # per answer; < first: none
    # An n-gram starting on trailing whitespace has no unit of its answer after it: it goes
    # to the answer's last unit. An answer of no unit (only whitespace) has nothing to show.
    target = np.minimum(unit[start], last_unit[owner])
    has_units = last_unit[owner] >= units_before[owner]
    pushes = np.bincount(target[has_units], weights=push[has_units], minlength=n_units)
    word_before = np.searchsorted(char_owner[first], np.arange(len(blocks)))
    unit_word = word[unit_first]
    return BlockUnits(
        text=chars.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass"),
        owner=unit_owner,
        first=unit_first,
        length=np.bincount(unit[letters], minlength=n_units),
        pushes=pushes,
        word=unit_word - word_before[unit_owner],
        offset=offset[unit_first],
        word_length=word_length[unit_word],
        units_before=units_before,
    )


def _display(word: str) -> str:
    return (word.strip(_PUNCTUATION) or word)[:MAX_WORD_CHARS]
