"""A full-size audit end to end: 2,000 questions x 3 models x 3 regions x 5 samples = 90,000
executions through `beacon audit`, on the simulated backend with no latency (the GPU is free),
so what is measured is Beacon's own overhead: launching runs, storing answers, analysing and
writing the report.

The catalog is the default one (its regions, models, prompt and generation) with 2,000
generated questions in its three categories. Memory is the peak of the summed proportional
set size (PSS: a page shared by the CLI and its forked workers counts once in all) of the CLI
and every process under it, sampled every 0.2 s from /proc.
On Postgres (`backend="postgres"`), the instance and the execution store are one fresh
database on the server at $BEACON_BENCH_POSTGRES_URL (default postgres@127.0.0.1:5432), dropped
afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
BEACON = [sys.executable, "-m", "beacon_pipelines.cli"]
QUESTIONS = 2_000
SAMPLES = 5
CATEGORIES = ("control", "bias_detection", "cultural_perspective")
POSTGRES_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


@dataclass
class BigAuditRun:
    executions: int
    wall_s: float
    peak_mb: float
    stored: int  # succeeded executions in the store afterwards


def big_catalog(path: Path, questions: int = QUESTIONS) -> Path:
    """The default catalog with `questions` generated questions."""
    catalog = yaml.safe_load((PROJECT / "beacon_pipelines/catalog/catalog.yaml").read_text())
    catalog.pop("questions_files", None)  # the generated questions only
    catalog["questions"] = [
        {
            "id": f"q{i:05d}",
            "category": CATEGORIES[i % len(CATEGORIES)],
            "text": f"Question {i}: what is known about topic {i} and how do views on it differ?",
        }
        for i in range(questions)
    ]
    path.write_text(yaml.safe_dump(catalog, sort_keys=False))
    return path


def _memory_kb(pid: int) -> int:
    """Proportional set size (shared pages split among their sharers: forked workers share
    most of the CLI's pages, which a sum of RSS would count once per worker); RSS where the
    kernel has no smaps_rollup."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _tree_mb(root: int) -> float:
    """Memory (PSS) of `root` and all its descendants, from /proc (children lists), in MB."""
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            total += _memory_kb(pid)
            for task in Path(f"/proc/{pid}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total / 1024


class PeakMemory:
    def __init__(self, pid: int, every_s: float = 0.2):
        self.pid, self.every_s, self.peak_mb = pid, every_s, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.every_s):
            self.peak_mb = max(self.peak_mb, _tree_mb(self.pid))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _postgres_database(admin_url: str):
    import sqlalchemy as sa

    name = f"beacon_bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return engine, name


def _drop_database(engine, name: str) -> None:
    import sqlalchemy as sa

    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def run_big_audit(
    root: Path, audit_id: str, backend: str = "sqlite", questions: int = QUESTIONS,
    samples: int = SAMPLES, extra_args: tuple[str, ...] = (),
) -> BigAuditRun:
    from beacon_pipelines.store import ExecutionStore, default_store_url

    home = root / f"home-{audit_id}"
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BEACON_", "DAGSTER_PG"))}
    env["DAGSTER_HOME"] = str(home)
    env["PYTHONPATH"] = str(PROJECT)
    admin = pg_name = None
    if backend == "postgres":
        import sqlalchemy as sa

        admin_url = os.environ.get("BEACON_BENCH_POSTGRES_URL", POSTGRES_ADMIN_URL)
        admin, pg_name = _postgres_database(admin_url)
        url = sa.engine.make_url(admin_url).set(database=pg_name)
        (home / "dagster.yaml").symlink_to(PROJECT / "deploy/dagster.postgres.yaml")
        env.update(
            DAGSTER_PG_USERNAME=url.username or "postgres", DAGSTER_PG_PASSWORD=url.password or "",
            DAGSTER_PG_HOST=url.host or "127.0.0.1", DAGSTER_PG_DB=pg_name,
            BEACON_STORE_URL=url.render_as_string(hide_password=False),
        )
        store_url = env["BEACON_STORE_URL"]
    else:
        (home / "dagster.yaml").symlink_to(PROJECT / "dagster.yaml")
        store_url = default_store_url(home)
    catalog = big_catalog(root / f"catalog-{questions}.yaml", questions)
    command = [
        *BEACON, "audit", "--catalog", str(catalog), "--samples", str(samples),
        "--audit-id", audit_id, "--out", str(root / "reports" / audit_id), *extra_args,
    ]
    try:
        started = time.monotonic()
        with open(root / f"{audit_id}.log", "w") as log:
            process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=log)
            with PeakMemory(process.pid) as memory:
                code = process.wait(timeout=3600)
        wall_s = time.monotonic() - started
        if code != 0:
            tail = (root / f"{audit_id}.log").read_text()[-3000:]
            raise RuntimeError(f"beacon audit exited {code}:\n{tail}")
        store = ExecutionStore(store_url)
        stored = store.succeeded_count(audit_id)
        store.dispose()
    finally:
        if admin is not None:
            _drop_database(admin, pg_name)
    executions = questions * samples * 9
    return BigAuditRun(executions, wall_s, memory.peak_mb, stored)


if __name__ == "__main__":
    # One run, for iterating: python benchmarks/big_audit.py [questions] [sqlite|postgres] [dir]
    # (with a folder, it is kept: the CLI's log and every partition's log are in it).
    count = int(sys.argv[1]) if len(sys.argv) > 1 else QUESTIONS
    kind = sys.argv[2] if len(sys.argv) > 2 else "sqlite"
    keep = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    with tempfile.TemporaryDirectory(prefix="beacon-big-") as tmp:
        root = keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        run = run_big_audit(root, f"big-{int(time.time())}", kind, questions=count)
        print(run)
        print("".join(sorted(root.glob("*.log"))[0].read_text().splitlines(True)[-8:]))
