"""Argument types shared by the commands: one clear argparse error for a bad value."""

from __future__ import annotations

import argparse


def csv_list(value: str) -> list[str]:
    items = [v.strip() for v in value.split(",")]
    if not value.strip() or any(not v for v in items):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {value!r}")
    return items


def _positive(convert, expected: str):
    def parse(value: str):
        try:
            number = convert(value)
        except ValueError:
            number = 0
        if not 0 < number < float("inf"):  # also refuses NaN
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value!r}")
        return number

    return parse


positive_int = _positive(int, "a positive integer")
positive_float = _positive(float, "a positive number of seconds")
