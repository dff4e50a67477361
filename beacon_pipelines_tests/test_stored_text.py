"""Untrusted text survives any database: escaped only when it must be, read back exactly."""

from __future__ import annotations

import pytest

from beacon_pipelines.stored_text import STORED_MARK, from_stored, to_stored
from beacon_pipelines_tests.support.hostile_text import HOSTILE_TEXTS


@pytest.mark.parametrize("text", [*HOSTILE_TEXTS, "", "plain", "back\\slash \\0 \\u0041", "中文"])
def test_every_text_round_trips(text):
    stored = to_stored(text)
    assert from_stored(stored) == text
    assert "\x00" not in stored
    stored.encode("utf-8")  # no lone surrogate left: any UTF-8 database takes it


def test_only_text_a_database_cannot_hold_is_escaped():
    assert to_stored("C:\\new\\0 \u202e 中文") == "C:\\new\\0 \u202e 中文"
    assert to_stored("a\x00b\\0\ud800") == STORED_MARK + "a\\0b\\\\0\\ud800"
    assert from_stored("plain text from an older store") == "plain text from an older store"
