"""`beacon` as a user runs it: a real subprocess over a real persistent instance."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from beacon_pipelines_tests.conftest import cli_env


def beacon(
    args: list[str], cwd: Path, home: Path, timeout=240, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "beacon_pipelines.cli", *args],
        cwd=cwd,
        env=cli_env(home, **(extra_env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
