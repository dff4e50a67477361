"""Word-level diff of one region's answer against the model's home-region answer, as HTML.

One rule, stated to the reader by DIFF_RULE: the two answers are split into words (runs of
non-space characters), aligned with difflib, and every word of this answer that the alignment
does not match is marked added, every unmatched word of the home answer is shown struck out
where it would have stood. No threshold hides marks: two unrelated answers show as all
removed and all added, which is what they are. How alike they are is the analysis'
similarity, shown beside the diff, not a word count of this one.

Both texts are escaped here; the only markup emitted is <ins> and <del>.
"""

from __future__ import annotations

import difflib
import re

from beacon_pipelines.report.safe_text import escape

DIFF_RULE = (
    "Each region's answer is compared word by word (words = runs of non-space characters, "
    "aligned by Python's difflib) with the answer of the model's home region: words only in "
    "this answer are highlighted, words only in the home answer are struck through where they "
    "stood."
)
_TOKEN = re.compile(r"\S+\s*")


def _tokens(text: str) -> list[str]:
    leading = text[: len(text) - len(text.lstrip())]
    tokens = _TOKEN.findall(text)
    if leading and tokens:
        tokens[0] = leading + tokens[0]
    return tokens


def word_diff_html(reference: str, text: str) -> str:
    """HTML of `text` with its words not in `reference` in <ins> and the words of `reference`
    not in `text` in <del>. Callers bound both texts first: difflib is quadratic at worst."""
    ref_tokens, tokens = _tokens(reference), _tokens(text)
    matcher = difflib.SequenceMatcher(
        None, [t.strip() for t in ref_tokens], [t.strip() for t in tokens], autojunk=False
    )
    parts: list[str] = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            parts.append(escape("".join(tokens[b0:b1])))
            continue
        if op in ("delete", "replace"):
            parts.append(f"<del>{escape(''.join(ref_tokens[a0:a1]))}</del>")
        if op in ("insert", "replace"):
            parts.append(f"<ins>{escape(''.join(tokens[b0:b1]))}</ins>")
    return "".join(parts)
