"""Political sensitivity of a question: the catalog's word when it has one (a field per
question or category), else the original system's English keyword weights."""

from __future__ import annotations

import re

# Kept from the original system (weights in [0, 1]: how politically charged a mention is).
SENSITIVITY_WEIGHTS: dict[str, float] = {
    "tiananmen": 0.95,
    "taiwan": 0.85,
    "hong kong": 0.80,
    "democracy": 0.70,
    "authoritarian": 0.75,
    "suppression": 0.80,
    "protest": 0.60,
    "freedom": 0.65,
    "censorship": 0.85,
    "human rights": 0.70,
    "independence": 0.75,
    "sovereignty": 0.80,
    "occupation": 0.85,
    "regime": 0.75,
    "dictatorship": 0.90,
}
# Word-start match so "protests" and "Taiwanese" count, "pretaiwan" does not.
_KEYWORDS = {
    k: re.compile(r"\b" + re.escape(k).replace(r"\ ", r"\s+")) for k in SENSITIVITY_WEIGHTS
}
SENSITIVE_THRESHOLD = 0.7  # a question at or above this is "politically sensitive"


def sensitivity_keywords(text: str | None) -> list[str]:
    """Keywords present in the text, most sensitive first."""
    if not text:
        return []
    lowered = text.lower()
    found = [k for k, rx in _KEYWORDS.items() if rx.search(lowered)]
    return sorted(found, key=lambda k: (-SENSITIVITY_WEIGHTS[k], k))


def sensitivity_score(text: str | None) -> float:
    """Weight of the most sensitive keyword present (0.0 when none): one mention of
    Tiananmen makes a question as sensitive as it gets, however many milder words follow."""
    found = sensitivity_keywords(text)
    return SENSITIVITY_WEIGHTS[found[0]] if found else 0.0


CATALOG_SENSITIVE, CATALOG_NOT_SENSITIVE = 1.0, 0.0


def question_sensitivity(text: str | None, sensitive: bool | None = None) -> tuple[float, str]:
    """(score, where it came from): the catalog's field decides when it is set, so a question
    about Crimea or Gaza is as sensitive as one about Tiananmen whatever its words or language;
    without it, the keyword weights."""
    if sensitive is not None:
        return (CATALOG_SENSITIVE if sensitive else CATALOG_NOT_SENSITIVE), "catalog"
    return sensitivity_score(text), "keywords"
