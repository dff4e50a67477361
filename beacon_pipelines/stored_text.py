"""Untrusted text (what a model or its server sent) in a SQL text column, kept exactly.

Postgres text cannot hold a NUL character, and no UTF-8 database (Postgres, SQLite) can hold a
lone surrogate (`"\\ud800"`, which a JSON reply may carry as an escape). Text holding either
is stored escaped, with a mark in front, and read back as it was:

    STORED_MARK + the text with "\\" -> "\\\\", NUL -> "\\0", each lone surrogate -> "\\uXXXX"

STORED_MARK is U+FDD0, a Unicode noncharacter no model writes; text that happens to start with
it is escaped too, so every str round-trips. Any other text is stored as it is, so rows written
before this existed read back unchanged, on either database.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

STORED_MARK = "\ufdd0"
_NEEDS_ESCAPE = re.compile("[\x00\ud800-\udfff]")
_ESCAPE = re.compile("[\\\\\x00\ud800-\udfff]")
_UNESCAPE = re.compile(r"\\(\\|0|u[0-9a-f]{4})")


def _escape(m: re.Match) -> str:
    c = m.group()
    return "\\\\" if c == "\\" else "\\0" if c == "\x00" else f"\\u{ord(c):04x}"


def _unescape(m: re.Match) -> str:
    code = m.group(1)
    return "\\" if code == "\\" else "\x00" if code == "0" else chr(int(code[1:], 16))


def to_stored(text: str) -> str:
    """The text as any UTF-8 database (Postgres included) holds it."""
    if not _NEEDS_ESCAPE.search(text) and not text.startswith(STORED_MARK):
        return text
    return STORED_MARK + _ESCAPE.sub(_escape, text)


def from_stored(stored: str) -> str:
    """The exact text `to_stored` was given."""
    if not stored.startswith(STORED_MARK):
        return stored
    return _UNESCAPE.sub(_unescape, stored[len(STORED_MARK) :])


class UntrustedText(sa.types.TypeDecorator):
    """sa.Text that keeps NUL bytes and lone surrogates (see the module docstring)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return to_stored(value) if isinstance(value, str) else value

    def process_result_value(self, value, dialect):
        return from_stored(value) if isinstance(value, str) else value
