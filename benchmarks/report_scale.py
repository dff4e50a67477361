"""The report folder of a large synthetic audit: how big its first page is, how long it takes
to render, and how long headless Chromium takes to open it.

Run as `python benchmarks/report_scale.py EXECUTIONS REPEATS`; prints one JSON line. The
analysis runs once (its cost is the `analysis` case's); rendering, writing and opening are
repeated and each reported as the median. Opening is the wall time of `chromium --headless
--dump-dom` on the page (load, layout, DOM serialised) minus the same on an empty page, so
the browser's own start-up is not counted; both are reported.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_audit import synthetic_executions  # noqa: E402

from beacon_pipelines.analysis.audit_analysis import analyze_audit  # noqa: E402
from beacon_pipelines.plan import AuditPlan  # noqa: E402
from beacon_pipelines.report.folder import write_audit_report  # noqa: E402
from beacon_pipelines.report.inputs import report_inputs  # noqa: E402

MB = 1024 * 1024


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def open_s(browser: str, page: Path, profile: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, check=True, timeout=300,
    )
    return time.perf_counter() - started


def main(executions: int, repeats: int) -> dict:
    frame, catalog = synthetic_executions(executions, audit_id="synthetic-report")
    started = time.perf_counter()
    analysis = analyze_audit(
        "synthetic-report", frame, {q.id: q.category for q in catalog.questions},
        question_texts={q.id: q.text for q in catalog.questions},
        region_order=catalog.region_ids,
    )
    analysis_s = time.perf_counter() - started
    plan = AuditPlan(
        audit_id="synthetic-report", catalog_sha256=catalog.sha256(), backend="simulated",
        models=tuple(m.id for m in catalog.models), regions=tuple(catalog.region_ids),
        questions=tuple(q.id for q in catalog.questions),
        samples=int(frame["sample"].max()) + 1, created_at=1_800_000_000.0,
    )
    inputs = report_inputs(catalog, plan, analysis, frame, "bench")
    result: dict = {"executions": int(len(analysis.answers)), "analysis_s": analysis_s}
    renders, opens, empties = [], [], []
    browser = chromium()
    with tempfile.TemporaryDirectory(prefix="beacon-report-bench-") as tmp:
        tmp_path = Path(tmp)
        empty = tmp_path / "empty.html"
        empty.write_text("<!doctype html><title>empty</title>", encoding="utf-8")
        for i in range(repeats):
            out = tmp_path / f"report-{i}"
            started = time.perf_counter()
            written = write_audit_report(inputs, out)
            renders.append(time.perf_counter() - started)
            if browser:
                empties.append(open_s(browser, empty, tmp_path / f"profile-e{i}"))
                opens.append(open_s(browser, written["report.html"], tmp_path / f"profile-{i}"))
        pages = {p.name: p.stat().st_size for p in out.glob("*.html")}
        result.update(
            report_mb=pages["report.html"] / MB,
            answer_pages_mb=max(v for k, v in pages.items() if k != "report.html") / MB,
            folder_mb=sum(p.stat().st_size for p in out.iterdir()) / MB,
            report_write_s=statistics.median(renders),
        )
        if browser:
            page = out / "report.html"
            answers = max((p for p in out.glob("answers-*.html")), key=lambda p: p.stat().st_size)
            page_open = [o - e for o, e in zip(opens, empties, strict=True)]
            result.update(
                report_open_s=statistics.median(page_open),
                report_open_wall_s=statistics.median(opens),
                browser_start_s=statistics.median(empties),
                answers_page_open_s=statistics.median(
                    open_s(browser, answers, tmp_path / f"profile-a{i}")
                    - open_s(browser, empty, tmp_path / f"profile-b{i}")
                    for i in range(repeats)
                ),
            )
            del page
    return result


if __name__ == "__main__":
    executions = int(sys.argv[1]) if len(sys.argv) > 1 else 90_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print(json.dumps(main(executions, repeats)))
