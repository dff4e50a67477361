"""What an LLM judge's classes add to the analysis and the report of a large synthetic audit:
applying the judgements (by response_sha256), kappa and the confusion matrix, and the report's
judge section.

Run as `python benchmarks/judge_analysis.py [EXECUTIONS] [REPEATS]`; prints `name=value` lines,
each the median of REPEATS runs. The analysis itself runs once, without a judge, to give the
answers the judge's classes go over (its own cost is analysis_scale.py's). The judge judges
every distinct answer: one in ten gets another class than the classifier's, one in fifty fails.
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_audit import synthetic_executions  # noqa: E402

from beacon_pipelines.analysis.audit_analysis import analyze_audit  # noqa: E402
from beacon_pipelines.analysis.judge_agreement import judge_summary  # noqa: E402
from beacon_pipelines.analysis.judge_classes import (  # noqa: E402
    JUDGE_CLASSES,
    apply_judgements,
    check_judgements,
    judgements_frame,
)
from beacon_pipelines.plan import AuditPlan  # noqa: E402
from beacon_pipelines.report.inputs import report_inputs  # noqa: E402
from beacon_pipelines.report.judge_section import judge_section  # noqa: E402


def synthetic_judgements(answers):
    said = (answers[answers["response_class"].isin(JUDGE_CLASSES)]
            .drop_duplicates("response_sha256"))
    rows = []
    for i, (sha, cls) in enumerate(zip(said["response_sha256"], said["response_class"],
                                       strict=True)):
        failed = i % 50 == 0
        other = JUDGE_CLASSES[(JUDGE_CLASSES.index(cls) + 1) % 3]
        rows.append({
            "response_sha256": sha, "judge_class": None if failed else
            (other if i % 10 == 0 else cls), "judge_reason": "" if failed else f"reason {i}",
            "judge_status": "judge_failed" if failed else "judged", "judge_model": "judge",
            "judge_prompt_sha256": "0" * 64,
        })
    return judgements_frame(rows)


def median_seconds(work, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(executions: int, repeats: int) -> None:
    frame, catalog = synthetic_executions(executions)
    analysis = analyze_audit(
        "synthetic", frame, {q.id: q.category for q in catalog.questions},
        question_texts={q.id: q.text for q in catalog.questions},
        region_order=catalog.region_ids,
    )
    judgements = synthetic_judgements(analysis.answers)
    judged = apply_judgements(analysis.answers, judgements)
    summary = {**analysis.summary, "judge": judge_summary(judged, "judge", "0" * 64)}
    plan = AuditPlan(
        audit_id="synthetic", catalog_sha256=catalog.sha256(), backend="simulated",
        models=tuple(sorted(set(frame["model"]))), regions=tuple(catalog.region_ids),
        questions=tuple(sorted(set(frame["question_id"]))), created_at=1.0,
    )
    inputs = report_inputs(catalog, plan, replace(analysis, answers=judged, summary=summary),
                           frame, "bench")
    print(f"executions={len(analysis.answers)}")
    print(f"distinct_answers_judged={len(judgements)}")
    print(f"disagreements={summary['judge']['disagreements']}")
    print(f"check_judgements_s={median_seconds(lambda: check_judgements(judgements), repeats):.3f}")  # noqa: E501
    print(f"apply_judgements_s={median_seconds(lambda: apply_judgements(analysis.answers, judgements), repeats):.3f}")  # noqa: E501
    print(f"judge_summary_s={median_seconds(lambda: judge_summary(judged, 'j', 'p'), repeats):.3f}")
    print(f"judge_section_s={median_seconds(lambda: judge_section(inputs), repeats):.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000,
         int(sys.argv[2]) if len(sys.argv) > 2 else 5)
