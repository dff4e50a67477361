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
from beacon_pipelines.analysis.refusal_cues import CUE_FEATURES, cue_matrix
from beacon_pipelines.analysis.refusal_features import (
    BATCH,
    CUE_WEIGHT,
    STRUCTURAL,
    FeatureConfig,
    body_text,
    ngram_occurrences_by_block,
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
# The whitespace the n-gram normalisation collapses (refusal_features._normalised_batch).
_WHITESPACE = re.compile("[\t-\r \x85\xa0\u2028\u2029\u3000]+")
_PUNCTUATION = "\"'.,;:!?()[]{}<>«»“”‘’*_`~"
_CLASS_INDEX = {name: k for k, name in enumerate(CLASSES)}
_SUBSTANTIVE = _CLASS_INDEX[ResponseClass.SUBSTANTIVE.value]
# The cues an answer says (every cue but the density buckets of 0).
_CUE_SAYS = np.array([not (n.startswith("share:") and n.endswith(":0")) for n in CUE_FEATURES])


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
        self._pair_index = np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64)
        for p, (c, r) in enumerate(self._pairs):
            self._pair_index[c, r] = p
        cue_base = 2**self.config.bits + len(STRUCTURAL)
        # What each cue present pushes, per pair.
        self._cue_pushes = CUE_WEIGHT * self._toward[:, cue_base : cue_base + len(CUE_FEATURES)]

    def explain(self, texts: Sequence[str | None], scored: ScoredClasses) -> list[Explanation]:
        """One explanation per text, from the classifier's scored classes of those texts
        (a text None: the call failed)."""
        n = len(texts)
        if not (n == len(scored.classes) == len(scored.probabilities)):
            raise ValueError(f"{len(scored.classes)} classes for {n} texts")
        failed = np.array([c is ResponseClass.TECHNICAL_FAILURE for c in scored.classes], bool)
        chosen = np.array([_CLASS_INDEX.get(c.value, 0) for c in scored.classes], dtype=np.int64)
        probs = np.asarray(scored.probabilities, dtype=np.float64)
        confidence = probs[np.arange(n), chosen] if n else np.zeros(0)  # a failure's: unused
        # Substantive answers the classifier is sure of need no explaining.
        todo = np.flatnonzero(~failed & ~((chosen == _SUBSTANTIVE) & (confidence >= EXPLAIN_BELOW)))
        # The runner-up: the likeliest other class (the first of equals, as max() takes it).
        others = probs[todo].copy()
        others[np.arange(len(todo)), chosen[todo]] = -np.inf
        pairs = self._pair_index[chosen[todo], others.argmax(axis=1) if len(todo) else todo]
        explained: dict[int, tuple[str, str]] = {}
        for begin in range(0, len(todo), BATCH):
            batch = todo[begin : begin + BATCH].tolist()
            answers = [split_reasoning(texts[i]).answer.lstrip() for i in batch]  # type: ignore[arg-type]
            batch_pairs = pairs[begin : begin + BATCH]
            words = self._words(answers, batch_pairs)
            # The cues the classifier found, else the cue regexes over the whole batch at
            # once: per answer, Arrow's per-call overhead cost several times the
            # classification.
            present = None
            if scored.cues is not None:
                present = scored.cues[batch]
            elif self.config.cues:
                present = cue_matrix(answers)
            cues = self._cues(present, batch_pairs)
            for k, (i, found) in enumerate(zip(batch, words, strict=True)):
                shown = cues[k]
                if scored.model_classes[i] is not scored.classes[i]:
                    shown.insert(0, SHORT_ANSWER_RULE)
                explained[i] = (", ".join(shown), WORD_SEPARATOR.join(found))
        out: list[Explanation] = []
        for i, (text, lost, sure) in enumerate(zip(texts, failed.tolist(), confidence.tolist(),
                                                  strict=True)):
            if lost:
                out.append(Explanation(1.0, CALL_FAILED if text is None else NO_TEXT))
            elif i in explained:
                out.append(Explanation(sure, *explained[i]))
            else:
                out.append(Explanation(sure))
        return out

    def _cues(self, present: np.ndarray | None, pairs: np.ndarray) -> list[list[str]]:
        """The cues to show of each answer, whose row of cue_matrix is present[k] and whose
        row of _toward is pairs[k]: the cues pushing toward its class, strongest first."""
        if present is None:
            return [[] for _ in pairs]
        pushes = self._cue_pushes[pairs]
        # A density bucket of 0 says what is absent; the cues shown are what the answer says.
        rows, cols = np.nonzero(present & _CUE_SAYS & (pushes > 0))
        found: list[list[tuple[float, str]]] = [[] for _ in pairs]
        for k, j, push in zip(rows.tolist(), cols.tolist(), pushes[rows, cols].tolist(),
                              strict=True):
            found[k].append((push, CUE_FEATURES[j]))
        return [[name for _, name in sorted(pushing, reverse=True)[:MAX_CUES]]
                for pushing in found]

    def _words(self, answers: list[str], pairs: np.ndarray) -> list[list[str]]:
        """The deciding words of each answer; `pairs`: the row of _toward of each."""
        sources = [body_text(a, self.config) for a in answers]
        units = word_units(sources, self.config, self._toward, pairs)
        pushes = units.pushes
        # Units by answer, strongest first; only the first MAX_WORDS * 4 of each are read.
        order = np.lexsort((-pushes, units.owner))
        bounds = np.searchsorted(units.owner[order], np.arange(len(answers) + 1))
        rank = np.arange(len(order)) - np.repeat(bounds[:-1], np.diff(bounds))
        head = order[(rank < MAX_WORDS * 4) & (pushes[order] > 0)]
        bounds = np.searchsorted(units.owner[head], np.arange(len(answers) + 1)).tolist()
        # Each unit read: its normalised text (the key a repeated word is kept once by) and
        # the text as written, when the written word lines up with the normalised one.
        text = units.text
        first, length = units.first[head].tolist(), units.length[head].tolist()
        word, offset = units.word[head].tolist(), units.offset[head].tolist()
        word_length = units.word_length[head].tolist()
        out = []
        for t, source in enumerate(sources):
            found: dict[str, str] = {}
            written = None
            for u in range(bounds[t], bounds[t + 1]):
                if len(found) == MAX_WORDS:
                    break
                if written is None:
                    written = [w for w in _WHITESPACE.split(source) if w]
                key = text[first[u] : first[u] + length[u]]
                shown, w = key, word[u]
                if w < len(written) and len(written[w]) == word_length[u]:
                    shown = written[w][offset[u] : offset[u] + len(key)]
                # A word that comes twice is shown once, at its strongest.
                found.setdefault(key, _display(shown))
            out.append(list(found.values()))
        return out


@dataclass(frozen=True)
class WordUnits:
    """The units of a batch of answers, and how hard each pushes toward a class. A unit is a
    word, or a chunk of a long or unspaced one."""

    text: str  # the answers' normalised bodies, each padded with a space at each end
    owner: np.ndarray  # per unit: which answer of the batch it is from
    first: np.ndarray  # where it starts in `text`
    length: np.ndarray  # its characters
    pushes: np.ndarray  # the sum of its n-grams' pushes: an answer's units sum to its score
    word: np.ndarray  # its word's index within its answer
    offset: np.ndarray  # where it starts in that word
    word_length: np.ndarray  # the characters of that word


def word_units(
    sources: list[str], config: FeatureConfig, toward: np.ndarray, pairs: np.ndarray
) -> WordUnits:
    """The units of each answer (`sources`: body_text of each, as featurize() reads it) and
    their pushes along row pairs[i] of `toward` (a weight per feature) for answer i: each
    n-gram occurrence of the opening and body blocks (refusal_features.ngram_occurrences)
    pushes its share of its feature value times its weight, and goes to the unit it starts
    in. The opening is the body's beginning: both blocks' n-grams fall in the body's units."""
    codes, lengths, blocks = ngram_occurrences_by_block(sources, config)
    # The answers' normalised code points, each padded with a space at each end, as hashed.
    padded = lengths + 2
    block_at = np.cumsum(padded) - padded  # where each padded answer starts in `chars`
    chars = np.full(int(padded.sum()), _SPACE, dtype=np.int64)
    code_owner = np.repeat(np.arange(len(sources)), lengths)
    chars[np.arange(len(codes)) + block_at[code_owner] + 1 - (
        np.cumsum(lengths) - lengths
    )[code_owner]] = codes

    char_owner = np.repeat(np.arange(len(sources)), padded)
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
    units_before = np.searchsorted(unit_owner, np.arange(len(sources)))
    last_unit = np.append(units_before[1:], n_units) - 1  # per answer; < first: none
    # An n-gram starting on trailing whitespace has no unit of its answer after it: it goes
    # to the answer's last unit. An answer of no unit (only whitespace) has nothing to show.
    clipped = np.minimum(unit, last_unit[char_owner])
    has_units = last_unit >= units_before
    pushes = np.zeros(n_units)
    seen: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # per rows or starts array: its lookup
    # The body's n-grams, then the opening's, each unit's pushes summed in that order (as
    # one bincount of both would, add.at going on where bincount stopped).
    for k, (row, column, value, start) in enumerate(blocks):
        if id(row) not in seen:
            seen[id(row)] = (row, pairs[row])
        if id(start) not in seen:
            seen[id(start)] = (start, clipped[start])
        push = value * toward[seen[id(row)][1], column]
        target = seen[id(start)][1]
        if not has_units.all():
            kept = has_units[row]
            push, target = push[kept], target[kept]
        if k == 0:
            pushes = np.bincount(target, weights=push, minlength=n_units).astype(np.float64)
        else:
            np.add.at(pushes, target, push)
    word_before = np.searchsorted(char_owner[first], np.arange(len(sources)))
    unit_word = word[unit_first]
    return WordUnits(
        text=chars.astype("<u4").tobytes().decode("utf-32-le", "surrogatepass"),
        owner=unit_owner,
        first=unit_first,
        length=np.bincount(unit[letters], minlength=n_units),
        pushes=pushes,
        word=unit_word - word_before[unit_owner],
        offset=offset[unit_first],
        word_length=word_length[unit_word],
    )


def _display(word: str) -> str:
    return (word.strip(_PUNCTUATION) or word)[:MAX_WORD_CHARS]
