"""Tone of an answer: how much it hedges rather than states.

Two regions can tell the same facts in different tones: "the army killed civilians" against
"casualty figures are disputed and the topic remains sensitive". The hedging share is the share
of sentences carrying a hedge; a gap between regions is a key difference of tone.
"""

from __future__ import annotations

import re

_HEDGE = re.compile(
    r"\b(?:disputed|alleged(?:ly)?|reportedly|some (?:say|argue|believe)|it is said|"
    r"may have|might|perhaps|unclear|unverified|controversial|sensitive|complex|"
    r"perspectives|viewpoints|debate[ds]?|contested|according to (?:some|official)|"
    r"so-called|claims?)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
TONE_GAP = 0.34  # a hedging-share gap at or above this between two regions is a tone difference


def hedging_share(text: str | None) -> float:
    """Share of sentences (0..1) that hedge; 0.0 for an empty answer."""
    if not text or not _HEDGE.search(text):  # no hedge in the text: none in a sentence of it
        return 0.0
    sentences = [s for s in _SENTENCE.split(text.strip()) if s.strip()]
    if not sentences:
        return 0.0
    return sum(1 for s in sentences if _HEDGE.search(s)) / len(sentences)
