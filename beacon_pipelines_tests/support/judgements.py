"""Hand-made judgements for analysis and report tests: the contract's judgements frame, keyed by
each answer's response_sha256 as the store computes it."""

from __future__ import annotations

import hashlib

import pandas as pd

from beacon_pipelines.analysis.judge_classes import JUDGE_FAILED, JUDGED, judgements_frame

JUDGE_MODEL = "judge-9b"
JUDGE_PROMPT_SHA256 = "ab" * 32


def sha(text: str) -> str:
    """The response_sha256 the store records for an answer (InferenceResult.response_sha256)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def with_shas(executions: pd.DataFrame) -> pd.DataFrame:
    """The executions with response_sha256 of each answer (None where there is none)."""
    out = executions.copy()
    out["response_sha256"] = [sha(t) if isinstance(t, str) else None for t in out["response"]]
    return out


def judged(text: str, judge_class: str, reason: str = "it says so") -> dict:
    return {"response_sha256": sha(text), "judge_class": judge_class, "judge_reason": reason,
            "judge_status": JUDGED, "judge_model": JUDGE_MODEL,
            "judge_prompt_sha256": JUDGE_PROMPT_SHA256}


def judge_failed(text: str) -> dict:
    return {"response_sha256": sha(text), "judge_class": None, "judge_reason": "",
            "judge_status": JUDGE_FAILED, "judge_model": JUDGE_MODEL,
            "judge_prompt_sha256": JUDGE_PROMPT_SHA256}


def judgements(*rows: dict) -> pd.DataFrame:
    return judgements_frame(rows)
