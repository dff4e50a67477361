"""One `beacon audit` on a fresh instance, timed from the outside and read back from the inside.

The audit runs as a user would run it (the `beacon` command, a subprocess, the simulated backend
with a fixed time per partition). Afterwards the Dagster instance's event log and the execution
store say when every run was created, when every step started and ended, and when the backend
was busy, which is all the figures need.
"""

from __future__ import annotations

import math
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
BEACON = Path(sys.executable).with_name("beacon")
INFERENCE_STEP = "inference_responses"
ANALYSIS_STEP = "bias_analysis"


@dataclass
class AuditTiming:
    partitions: int
    cap: int
    partition_s: float
    makespan_s: float  # `beacon audit` started -> last partition's step done
    ideal_s: float  # ceil(partitions / cap) x partition time: the GPU-bound floor
    peak_inflight: int  # most backend calls in flight at once (from the store's answer times)
    busy_slot_s: float  # sum of backend call durations
    barrier_gap_s: float  # last inference step done -> analysis step started
    run_launch_s: float  # median run created -> step started, steps that found a slot free
    slot_handoff_s: float  # median slot freed -> the next waiting step started
    first_step_s: float  # `beacon audit` started -> first inference step started
    first_run_s: float  # `beacon audit` started -> first inference run created
    wall_s: float  # the whole command, report included
    cpu_s: float = 0.0  # CPU time of the command and its workers

    @property
    def makespan_ratio(self) -> float:
        return self.makespan_s / self.ideal_s

    @property
    def slot_utilisation(self) -> float:
        return self.busy_slot_s / (self.cap * self.makespan_s)


def peak_overlap(intervals: list[tuple[float, float]]) -> int:
    """Most intervals open at once; one ending as another starts does not overlap."""
    events = sorted([(end, -1) for _, end in intervals] + [(start, 1) for start, _ in intervals])
    open_now = peak = 0
    for _, delta in events:
        open_now += delta
        peak = max(peak, open_now)
    return peak


def prepare_home(root: Path) -> Path:
    """A Dagster instance as a user has it after their first audit: its databases exist.

    (A brand-new instance creates them on first use, once: about 2 s more here.)
    """
    from dagster import DagsterInstance

    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    link = home / "dagster.yaml"
    if not link.exists():
        link.symlink_to(PROJECT / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)  # Beacon's event log storage reads it
    with DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs(limit=1)
        instance.event_log_storage.get_concurrency_keys()
        instance.schedule_storage.all_instigator_state()
    return home


@contextmanager
def serving(home: Path):
    """`beacon serve` on the home while the block runs: the audits started meanwhile run in
    processes forked from it (beacon_pipelines/cli/warm_server.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACON_")}
    env["DAGSTER_HOME"] = str(home)
    server = subprocess.Popen(
        [str(BEACON), "serve"], cwd=home.parent, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        ready = server.stdout.readline()
        if "ready" not in ready:
            raise RuntimeError(f"beacon serve did not start: {ready!r}")
        yield
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)


def run_audit_once(home: Path, partition_s: float, cap: int, audit_id: str) -> AuditTiming:
    """Run `beacon audit` of the default catalog's original 8 questions (3 models x 3 regions x
    8 questions), the figures' size since before Beacon's own question set."""
    root = home.parent
    sim = root / f"sim-{partition_s:g}.yaml"
    sim.write_text(yaml.safe_dump({"latency": {"per_call_s": partition_s}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACON_")}
    env["DAGSTER_HOME"] = str(home)
    command = [
        str(BEACON), "audit", "--sim-config", str(sim), "--gpu-cap", str(cap),
        "--audit-id", audit_id, "--out", str(root / "reports" / audit_id),
        "--category", "control,bias_detection,cultural_perspective",
    ]
    cpu_before = _children_cpu_s()
    started = time.time()
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    finished = time.time()
    cpu_s = _children_cpu_s() - cpu_before
    if result.returncode != 0:
        raise RuntimeError(
            f"beacon audit exited {result.returncode} (logs in {home}/logs/{audit_id}):\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        )
    timing = read_timing(home, audit_id, cap, partition_s, started, finished)
    timing.cpu_s = cpu_s
    return timing


def _children_cpu_s() -> float:
    # Workers are reaped by the CLI, so their time is in the CLI's, which is reaped by us.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _step_times(instance, run_id: str) -> dict[str, dict[str, float]]:
    from dagster import DagsterEventType

    wanted = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}
    times: dict[str, dict[str, float]] = {}
    for entry in instance.all_logs(run_id, of_type=wanted):
        event = entry.dagster_event
        step = times.setdefault(event.step_key, {})
        # A retried step starts again: keep its first start and its last success.
        if event.event_type == DagsterEventType.STEP_START:
            step.setdefault("start", entry.timestamp)
        else:
            step["end"] = entry.timestamp
    return times


def read_timing(home: Path, audit_id: str, cap: int, partition_s: float, started, finished):
    from dagster import DagsterInstance, RunsFilter

    from beacon_pipelines.store import ExecutionStore, default_store_url

    store = ExecutionStore(default_store_url(home))
    frame = store.executions_frame(audit_id, succeeded_only=True)
    store.dispose()
    calls = frame.groupby(["model", "region", "run_id"]).agg(
        start=("started_at", "min"), end=("finished_at", "max")
    )
    intervals = [(float(s), float(e)) for s, e in zip(calls["start"], calls["end"], strict=True)]

    os.environ["DAGSTER_HOME"] = str(home)
    with DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_run_records(RunsFilter(tags={"beacon/audit_id": audit_id}))
        inference, analysis_start = [], None
        for record in runs:
            steps = _step_times(instance, record.dagster_run.run_id)
            created = record.create_timestamp.timestamp()
            if INFERENCE_STEP in steps:
                inference.append((created, steps[INFERENCE_STEP]["start"],
                                  steps[INFERENCE_STEP]["end"]))
            if ANALYSIS_STEP in steps:
                analysis_start = steps[ANALYSIS_STEP]["start"]
    partitions = len(inference)
    starts = sorted(s for _, s, _ in inference)
    ends = sorted(e for _, _, e in inference)
    # Steps that started before any slot was freed found one at once; the k-th step after the
    # first `cap` took the slot the k-th finished step gave back.
    immediate = [s - c for c, s, _ in inference if s <= ends[0]]
    handoffs = [starts[cap + k] - ends[k] for k in range(partitions - cap)]
    return AuditTiming(
        partitions=partitions,
        cap=cap,
        partition_s=partition_s,
        makespan_s=ends[-1] - started,
        ideal_s=math.ceil(partitions / cap) * partition_s,
        peak_inflight=peak_overlap(intervals),
        busy_slot_s=sum(e - s for s, e in intervals),
        barrier_gap_s=analysis_start - ends[-1],
        run_launch_s=statistics.median(immediate),
        slot_handoff_s=statistics.median(handoffs) if handoffs else 0.0,
        first_step_s=starts[0] - started,
        first_run_s=min(c for c, _, _ in inference) - started,
        wall_s=finished - started,
    )


# One audit, for iterating: python benchmarks/orchestration.py 3 [served]
if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    with tempfile.TemporaryDirectory(prefix="beacon-bench-") as tmp:
        home = prepare_home(Path(tmp))
        if "served" in sys.argv[2:]:
            with serving(home):
                print(run_audit_once(home, seconds, 3, f"bench-{int(time.time())}"))
        else:
            print(run_audit_once(home, seconds, 3, f"bench-{int(time.time())}"))
