"""What `beacon audit` imports before its first backend call: not the analysis's libraries.

pandas, numpy, scipy, scikit-learn and pyarrow cost ~1 s of CPU to import, and nothing before
the analysis needs them. The CLI imports every subcommand's module, the definitions name the
analysis' types, and the partition workers are forked from the CLI: one module-level import
anywhere on that path puts them back in front of the first GPU call of every audit. The code
location (UI, daemon, each run they launch) loads every module under defs/: the same holds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from beacon_pipelines_tests.conftest import PROJECT_DIR, cli_env

HEAVY = ("pandas", "numpy", "scipy", "sklearn", "pyarrow")

# A whole (small) audit in a fresh interpreter, with what was imported written down at the
# moment the first worker is forked and at the end of each worker's run.
_AUDIT = """
import json, sys
import beacon_pipelines.cli.audit_runner as runner
import beacon_pipelines.cli.workers as workers
from beacon_pipelines.cli.main import main

heavy, out = json.loads(sys.argv[1]), sys.argv[2]

def loaded(where):
    with open(out, "a") as f:
        f.write(json.dumps([where, [m for m in heavy if m in sys.modules]]) + "\\n")

start_workers, execute_partition = runner._start_workers, workers.execute_partition

def at_fork(*args, **kwargs):
    loaded("cli")
    return start_workers(*args, **kwargs)

def worker(*args, **kwargs):
    try:
        return execute_partition(*args, **kwargs)
    finally:
        loaded("worker")

runner._start_workers, workers.execute_partition = at_fork, worker
sys.exit(main(sys.argv[3:]))
"""


@pytest.mark.integration
def test_the_cli_and_its_workers_never_import_the_analysis_libraries(dagster_home: Path):
    record = dagster_home / "imported.jsonl"
    result = subprocess.run(
        [
            sys.executable, "-c", _AUDIT, json.dumps(HEAVY), str(record),
            "audit", "--models", "qwen2.5-1.5b", "--regions", "EU,US",
            "--questions", "math_basic", "--samples", "1", "--audit-id", "imports",
            "--out", str(dagster_home / "report"),
        ],
        cwd=PROJECT_DIR, env=cli_env(dagster_home), capture_output=True, text=True, timeout=300,
    )
    # The audit is whole, analysis and report included: they import what they need themselves.
    assert result.returncode == 0, result.stdout + result.stderr
    assert (dagster_home / "report" / "report.html").is_file()
    seen = [json.loads(line) for line in record.read_text().splitlines()]
    assert sorted(where for where, _ in seen) == ["cli", "worker", "worker"]
    assert all(modules == [] for _, modules in seen), seen


@pytest.mark.integration
def test_loading_the_code_location_does_not_import_the_analysis_libraries(dagster_home: Path):
    """What the UI, the daemon and each run they launch load: every module under defs/."""
    load = (
        "import json, sys\n"
        "from beacon_pipelines.definitions import defs\n"
        "assert defs().resolve_asset_graph().get_all_asset_keys()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", load], cwd=PROJECT_DIR, env=cli_env(dagster_home),
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
