"""Model-written text made safe to render: valid Unicode, escaped, and bounded in size.

Everything a model wrote is untrusted. It may hold markup, megabytes of text, raw bytes that
are not UTF-8, lone surrogates that no UTF-8 file can hold, control characters, or bidi
controls that make a page show text other than what it holds; none of it may run, blow up the
page or hide: `escape` shows each control as a visible [U+XXXX] marker.
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
# Shown in pages as a visible [U+XXXX] marker, never obeyed: C0 and C1 controls (but tab,
# newline, carriage return), DEL, and the bidi controls that reorder what a reader sees
# ("Trojan Source", CVE-2021-42574): embeddings, overrides, isolates, and the marks.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_LAYOUT = re.compile("[\t\n\r\u2028\u2029]")


def text_of(value: object) -> str:
    """Any stored value as a str: missing -> '', bytes decoded (bad bytes -> U+FFFD)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)


def valid_text(value: object) -> str:
    """The text as a UTF-8 file can hold it: each lone surrogate -> U+FFFD, the rest exact."""
    if type(value) is str and value.isascii():  # O(1) in CPython: no surrogate in ASCII
        return value
    return _UNENCODABLE.sub("\ufffd", text_of(value))


def clean_text(value: object) -> str:
    """Valid, printable Unicode: bad bytes, lone surrogates and C0 controls -> U+FFFD."""
    return _CONTROL.sub("\ufffd", valid_text(value))


def visible(value: object) -> str:
    """Valid Unicode with every control and bidi control as a visible marker, e.g. a NUL as
    [U+0000] and a right-to-left override as [U+202E]."""
    text = valid_text(value)
    # Most text has none: a search is cheaper than a substitution with a callback.
    if _INVISIBLE.search(text) is None:
        return text
    return _INVISIBLE.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


def terminal_line(value: object) -> str:
    """Text for one cell of a terminal table: `visible`, and line breaks and tabs as markers
    too, so a server's message cannot move the cursor, recolour the terminal (ESC is a C0
    control) or forge rows of the table."""
    return _LAYOUT.sub(lambda m: f"[U+{ord(m.group()):04X}]", visible(value))


def escape(value: object) -> str:
    """Text for an HTML element or a quoted attribute value."""
    return html.escape(visible(value), quote=True)


def bounded(value: object, limit: int = MAX_ANSWER_CHARS) -> tuple[str, int]:
    """(the first `limit` characters of the text, made `visible`; how many were cut)."""
    text = text_of(value)
    if len(text) <= limit:
        return visible(text), 0
    return visible(text[:limit]), len(text) - limit


def truncation_note(cut: int) -> str:
    if not cut:
        return ""
    return (
        f"<p class='note'>[truncated: {cut:,} more characters; the full text is in "
        "executions.csv]</p>"
    )
