"""Beacon's benchmarks: `make bench` (or `.venv/bin/python benchmarks/run.py`).

Prints one `name=value` line per figure on stdout, each the median of --repeats runs, plus the
machine and its load average (the figures depend on both); progress goes to stderr. Nothing
here is a test: no figure fails the build, the targets are printed next to them.

Cases:
  orchestration  `beacon audit` of 9 partitions (3 models x 3 regions x 8 questions) of
                 --partition-s each on the simulated backend, GPU cap 3, on a fresh instance:
                 through `beacon serve` (makespan_ratio) and in a new process (_cold)
  batching       GPU-seconds, one batched call per partition vs one call per question
  analysis       analyze_audit on 100,000 synthetic executions, in a process of its own
  classifier     refusal classifier throughput
  report         the report folder of a 90,000-execution synthetic audit: first page size,
                 render time, and open time in headless Chromium (needs `chromium`)
  store_writes   rows/s the execution store takes, one transaction per answer vs per batch,
                 SQLite and Postgres
  big_audit      `beacon audit` of 2,000 questions x 3 models x 3 regions x 5 samples = 90,000
                 executions, zero-latency simulated backend, end to end (report included), on
                 SQLite and on Postgres (long: several minutes per run)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CASES = (
    "orchestration", "batching", "store_writes", "analysis", "classifier", "report", "big_audit"
)
TARGETS = {
    "makespan_ratio": "<= 1.05",  # issue 21: with `beacon serve` up (cold: makespan_ratio_cold)
    "barrier_gap_s": "<= 2",
    "batched_vs_per_question_gpu_s": "<= 0.35",
    "analysis_100k_s": "< 20",
    "classifier_answers_per_s": ">= 1000",
    "analysis_100k_peak_mb": "< 2048",
    "report_mb": "<= 10",
    "report_open_s": "<= 5",
    "big_audit_s": "<= 120",
    "big_audit_peak_mb": "<= 2000",
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def emit(name: str, value, unit_fmt: str = "{:.3f}") -> None:
    text = unit_fmt.format(value) if isinstance(value, float) else str(value)
    target = f"  # target {TARGETS[name]}" if name in TARGETS else ""
    print(f"{name}={text}{target}", flush=True)


def median(values) -> float:
    return statistics.median(values)


def orchestration(repeats: int, partition_s: float, cap: int) -> None:
    """Each repeat runs the audit twice, alternately: in a new process (cold: Python, Dagster
    and the instance set up first) and through `beacon serve` (served), so both see the same
    load."""
    from orchestration import prepare_home, run_audit_once, serving

    runs = {"cold": [], "served": []}
    with tempfile.TemporaryDirectory(prefix="beacon-bench-") as tmp:
        home = prepare_home(Path(tmp))
        for i in range(repeats):
            for mode in runs:
                log(f"orchestration {i + 1}/{repeats} {mode}: 9 partitions x {partition_s:g} s, "
                    f"cap {cap} (load {load()})")
                audit_id = f"bench-{mode}-{i + 1}"
                if mode == "served":
                    with serving(home):
                        timing = run_audit_once(home, partition_s, cap, audit_id)
                else:
                    timing = run_audit_once(home, partition_s, cap, audit_id)
                log(f"  makespan {timing.makespan_s:.1f} s (ideal {timing.ideal_s:.0f} s), "
                    f"first step {timing.first_step_s:.2f} s, barrier {timing.barrier_gap_s:.2f} s")
                runs[mode].append(timing)
    cold, served = runs["cold"], runs["served"]
    emit("partition_s", partition_s, "{:g}")
    emit("partitions", cold[0].partitions)
    emit("cap", cap)
    emit("ideal_makespan_s", cold[0].ideal_s, "{:g}")
    for suffix, mode_runs in (("", served), ("_cold", cold)):
        emit(f"makespan{suffix}_s", median(r.makespan_s for r in mode_runs))
        emit(f"makespan_ratio{suffix}", median(r.makespan_ratio for r in mode_runs))
        emit(f"first_step{suffix}_s", median(r.first_step_s for r in mode_runs))
    both = cold + served
    emit("peak_inflight", max(r.peak_inflight for r in both))
    emit("slot_utilisation", median(r.slot_utilisation for r in served))
    emit("barrier_gap_s", median(r.barrier_gap_s for r in both))
    emit("run_launch_s", median(r.run_launch_s for r in both))
    emit("slot_handoff_s", median(r.slot_handoff_s for r in both))
    emit("audit_wall_s", median(r.wall_s for r in cold))
    # A served audit's CPU is the server's child's, out of this process's sight.
    emit("audit_cpu_s", median(r.cpu_s for r in cold))


def batching(repeats: int) -> None:
    from batching import measure

    runs = []
    for i in range(repeats):
        log(f"batching {i + 1}/{repeats} (load {load()})")
        runs.append(measure())
    batched = median(r["batched"] for r in runs)
    emit("batched_gpu_s", batched, "{:.0f}")
    emit("per_question_gpu_s", median(r["per_question_cold"] for r in runs), "{:.0f}")
    emit("batched_vs_per_question_gpu_s",
         median(r["batched"] / r["per_question_cold"] for r in runs))
    emit("batched_vs_per_question_warm_gpu_s",
         median(r["batched"] / r["per_question_warm"] for r in runs))


def analysis(repeats: int, executions: int) -> None:
    runs = []
    for i in range(repeats):
        log(f"analysis {i + 1}/{repeats}: {executions} executions (load {load()})")
        out = subprocess.run(
            [sys.executable, str(HERE / "analysis_scale.py"), str(executions)],
            capture_output=True, text=True, check=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        log(f"  {result['seconds']:.1f} s, peak {result['peak_mb']:.0f} MB")
        runs.append(result)
    emit("analysis_executions", runs[0]["executions"])
    emit("analysis_100k_s", median(r["seconds"] for r in runs), "{:.1f}")
    emit("analysis_100k_peak_mb", median(r["peak_mb"] for r in runs), "{:.0f}")


def classifier(repeats: int) -> None:
    from classifier import answers_per_s, distinct_answers

    texts = distinct_answers()
    runs = []
    for i in range(repeats):
        log(f"classifier {i + 1}/{repeats}: {len(texts)} distinct answers (load {load()})")
        runs.append(answers_per_s(texts))
    emit("classifier_answers_per_s", median(runs), "{:.0f}")


def report(repeats: int, executions: int) -> None:
    log(f"report: {executions} executions, {repeats} renders and opens (load {load()})")
    out = subprocess.run(
        [sys.executable, str(HERE / "report_scale.py"), str(executions), str(repeats)],
        capture_output=True, text=True, check=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    emit("report_executions", result["executions"])
    emit("report_mb", result["report_mb"], "{:.2f}")
    emit("report_answer_page_mb", result["answer_pages_mb"], "{:.2f}")
    emit("report_folder_mb", result["folder_mb"], "{:.1f}")
    emit("report_write_s", result["report_write_s"], "{:.1f}")
    if "report_open_s" not in result:
        print("report_open_s=not measured  # chromium not installed", flush=True)
        return
    emit("report_open_s", result["report_open_s"], "{:.2f}")
    emit("report_open_wall_s", result["report_open_wall_s"], "{:.2f}")
    emit("browser_start_s", result["browser_start_s"], "{:.2f}")
    emit("report_answer_page_open_s", result["answers_page_open_s"], "{:.2f}")


def store_writes(repeats: int) -> None:
    from big_audit import POSTGRES_ADMIN_URL
    from store_writes import measure

    admin = os.environ.get("BEACON_BENCH_POSTGRES_URL", POSTGRES_ADMIN_URL)
    runs = []
    for i in range(repeats):
        log(f"store writes {i + 1}/{repeats} (load {load()})")
        runs.append(measure(admin))
    for key in runs[0]:
        emit(f"store_rows_per_s_{key}", median(r[key] for r in runs), "{:.0f}")


def big_audit(repeats: int, questions: int) -> None:
    from big_audit import run_big_audit

    for kind in ("sqlite", "postgres"):
        runs = []
        for i in range(repeats):
            log(f"big audit on {kind} {i + 1}/{repeats}: {questions} questions (load {load()})")
            with tempfile.TemporaryDirectory(prefix="beacon-big-") as tmp:
                run = run_big_audit(Path(tmp), f"big-{kind}-{i + 1}", kind, questions=questions)
            log(f"  {run.wall_s:.1f} s, peak {run.peak_mb:.0f} MB, {run.stored} stored, "
                f"load {load()}")
            if run.stored != run.executions:
                raise RuntimeError(f"{run.stored} of {run.executions} executions stored")
            runs.append(run)
        name = "big_audit" if kind == "sqlite" else "big_audit_postgres"
        if kind == "sqlite":
            emit("big_audit_executions", runs[0].executions)
        emit(f"{name}_s", median(r.wall_s for r in runs), "{:.1f}")
        emit(f"{name}_peak_mb", median(r.peak_mb for r in runs), "{:.0f}")
        emit(f"{name}_executions_per_s", median(r.executions / r.wall_s for r in runs), "{:.0f}")
        print(f"load_avg_after_{name}={load()}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per case (median; >= 3)")
    parser.add_argument("--partition-s", type=float, default=10.0,
                        help="simulated GPU time of one partition (default 10)")
    parser.add_argument("--cap", type=int, default=3)
    parser.add_argument("--executions", type=int, default=100_000)
    parser.add_argument("--report-executions", type=int, default=90_000)
    parser.add_argument("--big-questions", type=int, default=2_000,
                        help="questions of the big audit (x 3 models x 3 regions x 5 samples)")
    parser.add_argument("--only", default=",".join(CASES), help=f"comma-separated: {CASES}")
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.only.split(",")]
    unknown = [c for c in cases if c not in CASES]
    if unknown or args.repeats < 1:
        parser.error(f"unknown case(s) {unknown}" if unknown else "--repeats must be >= 1")

    print(f"machine={os.cpu_count()} cores, {cpu_model()}, "
          f"Python {platform.python_version()}, Dagster {version('dagster')}, SQLite instance")
    print(f"repeats={args.repeats}")
    print(f"load_avg_start={load()}", flush=True)
    if "orchestration" in cases:
        orchestration(args.repeats, args.partition_s, args.cap)
    if "batching" in cases:
        batching(args.repeats)
    if "store_writes" in cases:
        store_writes(args.repeats)
    if "analysis" in cases:
        analysis(args.repeats, args.executions)
    if "classifier" in cases:
        classifier(args.repeats)
    if "report" in cases:
        report(args.repeats, args.report_executions)
    if "big_audit" in cases:
        big_audit(args.repeats, args.big_questions)
    print(f"load_avg_end={load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
