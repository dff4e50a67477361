"""Model-written text made safe to render: valid Unicode, escaped, and bounded in size.

Everything a model wrote is untrusted. It may hold markup, megabytes of text, raw bytes that
are not UTF-8, or lone surrogates that no UTF-8 file can hold; none of it may run or blow up
the page.
"""

from __future__ import annotations

import html
import math
import re

MAX_ANSWER_CHARS = 4000  # per answer in the report; the exports keep the full text

# Lone surrogates cannot be encoded as UTF-8; C0 controls (but tab, newline, carriage return)
# and DEL have no business in a page and some parsers choke on them.
_UNENCODABLE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: object) -> str:
    """Any stored value as valid, printable Unicode: missing -> '', bad bytes -> U+FFFD."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", errors="replace")
    text = value if isinstance(value, str) else str(value)
    text = _UNENCODABLE.sub("\ufffd", text)
    return _CONTROL.sub("\ufffd", text)


def escape(value: object) -> str:
    """Text for an HTML element or a quoted attribute value."""
    return html.escape(clean_text(value), quote=True)


def bounded(value: object, limit: int = MAX_ANSWER_CHARS) -> tuple[str, int]:
    """(the first `limit` characters of the cleaned text, how many characters were cut)."""
    text = clean_text(value) if not isinstance(value, str) else value
    if len(text) <= limit:
        return clean_text(text), 0
    return clean_text(text[:limit]), len(text) - limit


def truncation_note(cut: int) -> str:
    if not cut:
        return ""
    return (
        f"<p class='note'>[truncated: {cut:,} more characters; the full text is in "
        "executions.csv]</p>"
    )
