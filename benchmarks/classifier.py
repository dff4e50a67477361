"""Throughput of the shipped refusal classifier on distinct answers (each text classified once,
as the analysis does)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_audit import synthetic_executions  # noqa: E402

from beacon_pipelines.analysis.classify import default_classifier  # noqa: E402


def distinct_answers(n: int = 20_000) -> list[str]:
    frame, _ = synthetic_executions(n, audit_id="classifier")
    return frame["response"].dropna().drop_duplicates().tolist()[:n]


def answers_per_s(texts: list[str]) -> float:
    classifier = default_classifier()  # weights loaded before the clock starts
    classifier.classify(texts[:10])
    started = time.perf_counter()
    classes = classifier.classify(texts)
    elapsed = time.perf_counter() - started
    assert len(classes) == len(texts)
    return len(texts) / elapsed


if __name__ == "__main__":
    print(f"{answers_per_s(distinct_answers()):.0f} answers/s")
