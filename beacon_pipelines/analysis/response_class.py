"""The kinds of answer an execution can produce (how they are told apart: classify.py).

A module of its own so that what only names a class (a labels file, the CLI checking one)
does not import the classifier's numpy and scipy.
"""

from __future__ import annotations

import enum


class ResponseClass(enum.StrEnum):
    SUBSTANTIVE = "substantive"
    REFUSAL = "refusal"
    PARTIAL_REFUSAL = "partial_refusal"  # SpeechMap's EVASIVE
    TECHNICAL_FAILURE = "technical_failure"


# The classes that withhold an answer (the `withheld` column), as the values frames hold.
WITHHELD_VALUES = (ResponseClass.REFUSAL.value, ResponseClass.PARTIAL_REFUSAL.value)
