"""The analysis of 100,000 executions through its real entry point, in a process of its own.

Run as `python benchmarks/analysis_scale.py [EXECUTIONS]`; prints one JSON line: seconds in
`analyze_audit`, the process's peak resident memory (frame building included, so an upper
bound), executions and rows. A separate process so the peak is this case's alone.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_audit import synthetic_executions  # noqa: E402

from beacon_pipelines.analysis.audit_analysis import analyze_audit  # noqa: E402


def main(executions: int) -> dict:
    frame, catalog = synthetic_executions(executions)
    categories = {q.id: q.category for q in catalog.questions}
    texts = {q.id: q.text for q in catalog.questions}
    built_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    analysis = analyze_audit(
        "synthetic", frame, categories, question_texts=texts, region_order=catalog.region_ids
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
        "before_analysis_mb": built_mb,
        "executions": int(frame.drop_duplicates(["model", "region", "question_id", "sample"])
                          .shape[0]),
        "rows": len(frame),
        "answers": len(analysis.answers),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)))
