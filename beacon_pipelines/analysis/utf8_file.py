"""Reading a UTF-8 text file that a person or a spreadsheet wrote: one error naming the file."""

from __future__ import annotations

import codecs
from pathlib import Path


def read_utf8_text(path: Path | str, error_cls: type[Exception]) -> tuple[bytes, str]:
    """The file's bytes (for a checksum) and its text, without a leading BOM (a spreadsheet's
    BOM is not part of the header). Any problem is one `error_cls` naming the file; a byte
    that is not UTF-8 is named with its line and offset in the file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error_cls(f"{path}: file not found") from None
    except OSError as exc:
        raise error_cls(f"{path}: cannot read: {exc.strerror}") from None
    # The BOM is stripped here, not by "utf-8-sig", so an error's offset counts from the
    # file's first byte (the codec counts from after the BOM).
    start = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        text = raw[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = start + exc.start
        line = raw[:offset].count(b"\n") + 1
        raise error_cls(
            f"{path}: line {line}: not UTF-8 text (byte 0x{raw[offset]:02x} at offset {offset})"
        ) from None
    return raw, text
