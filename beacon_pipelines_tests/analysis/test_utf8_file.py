"""The UTF-8 reader behind the labels and labelled-answers CSVs: each caller's error class, the
file named, and a bad byte's line and offset counted in the file as a person opens it."""

from __future__ import annotations

import codecs

import pytest

from beacon_pipelines.analysis.utf8_file import read_utf8_text


class CallersError(ValueError):
    pass


def test_a_spreadsheets_bom_is_dropped_from_the_text_but_kept_in_the_bytes(tmp_path):
    path = tmp_path / "with_bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + "completion\nqué\n".encode())
    raw, text = read_utf8_text(path, CallersError)
    assert text == "completion\nqué\n"
    assert raw == path.read_bytes()


def test_a_bad_byte_after_a_bom_is_named_at_its_offset_in_the_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"a,b\nc,\xfe\n")  # 0xfe is byte 9 of the file
    with pytest.raises(CallersError) as caught:
        read_utf8_text(path, CallersError)
    assert str(caught.value) == f"{path}: line 2: not UTF-8 text (byte 0xfe at offset 9)"


def test_a_missing_file_or_a_folder_is_the_callers_error_naming_it(tmp_path):
    with pytest.raises(CallersError, match=r"nope.csv: file not found$"):
        read_utf8_text(tmp_path / "nope.csv", CallersError)
    with pytest.raises(CallersError, match=r": cannot read: Is a directory$"):
        read_utf8_text(tmp_path, CallersError)
