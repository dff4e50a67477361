"""Word-level diff of one region's answer against the model's home-region answer, as HTML.

Both texts are escaped here; the only markup emitted is <ins> and <del>.
"""

from __future__ import annotations

import difflib
import re

from beacon_pipelines.report.safe_text import escape

# Below this share of common words there is nothing to compare: show the answer plainly.
MIN_DIFF_RATIO = 0.1
# Below this, struck-through home words would bury the answer: mark only what it adds.
MIN_DELETIONS_RATIO = 0.5
_TOKEN = re.compile(r"\S+\s*")


def _tokens(text: str) -> list[str]:
    leading = text[: len(text) - len(text.lstrip())]
    tokens = _TOKEN.findall(text)
    if leading and tokens:
        tokens[0] = leading + tokens[0]
    return tokens


def word_diff_html(reference: str, text: str) -> tuple[str, float]:
    """(HTML of `text` with words added vs `reference` in <ins> and removed in <del>, ratio).

    ratio is difflib's share of words in common (0-1). Below MIN_DIFF_RATIO the HTML is `text`
    without marks; below MIN_DELETIONS_RATIO only added words are marked. Callers bound both
    texts first: difflib is quadratic at worst.
    """
    ref_tokens, tokens = _tokens(reference), _tokens(text)
    matcher = difflib.SequenceMatcher(
        None, [t.strip() for t in ref_tokens], [t.strip() for t in tokens]
    )
    ratio = matcher.ratio() if (ref_tokens or tokens) else 1.0
    if ratio < MIN_DIFF_RATIO:
        return escape(text), ratio
    parts: list[str] = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            parts.append(escape("".join(tokens[b0:b1])))
            continue
        if op in ("delete", "replace") and ratio >= MIN_DELETIONS_RATIO:
            parts.append(f"<del>{escape(''.join(ref_tokens[a0:a1]))}</del>")
        if op in ("insert", "replace"):
            parts.append(f"<ins>{escape(''.join(tokens[b0:b1]))}</ins>")
    return "".join(parts), ratio
