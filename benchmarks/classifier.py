"""Throughput of the shipped refusal classifier on distinct answers of ~4 KB (each text
classified once, with its question, as the analysis does), on one core.

The answers are the synthetic audit's, joined into ~4 KB texts (real answers of the SpeechMap
set have a median of 3.9 KB): the classifier reads an answer's head and tail, so its cost
grows with length up to ~4 KB and is flat past it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_audit import synthetic_executions  # noqa: E402

from beacon_pipelines.analysis.classify import default_classifier  # noqa: E402

ANSWER_BYTES = 4096


def distinct_answers(n: int = 5_000, size: int = ANSWER_BYTES) -> list[str]:
    frame, _ = synthetic_executions(n * 4, audit_id="classifier")
    short = frame["response"].dropna().drop_duplicates().tolist()
    answers, current, i = [], [], 0
    while len(answers) < n:
        current.append(short[i % len(short)])
        i += 1
        if sum(len(s) + 2 for s in current) >= size:
            answers.append("\n\n".join(current)[:size])
            current = []
    return answers


def questions_for(texts: list[str]) -> list[str]:
    """A question of the synthetic catalog for each answer: the analysis passes them."""
    _, catalog = synthetic_executions(1, audit_id="classifier")
    asked = [q.text for q in catalog.questions]
    return [asked[i % len(asked)] for i in range(len(texts))]


def answers_per_s(texts: list[str], questions: list[str] | None = None) -> float:
    from threadpoolctl import threadpool_limits

    classifier = default_classifier()  # weights loaded before the clock starts
    classifier.classify(texts[:10])
    questions = questions if questions is not None else questions_for(texts)
    # One thread (BLAS limited to one), timed in CPU time of this process: on a shared
    # machine wall time measures the neighbours, and one thread's CPU time is one core's.
    with threadpool_limits(1):
        started = time.process_time()
        classes = classifier.classify(texts, questions=questions)
        elapsed = time.process_time() - started
    assert len(classes) == len(texts)
    return len(texts) / elapsed


if __name__ == "__main__":
    texts = distinct_answers()
    mean_kb = sum(len(t.encode()) for t in texts) / len(texts) / 1024
    print(f"{answers_per_s(texts):.0f} answers/s of CPU time on one core ({len(texts)} answers "
          f"of {mean_kb:.1f} KB)")
