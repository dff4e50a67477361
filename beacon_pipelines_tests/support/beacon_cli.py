"""`beacon` as a user runs it: a real subprocess over a real persistent instance; or, for a
command that only reads what another process wrote, the same `main` in this process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from beacon_pipelines.catalog import CATALOG_ENV_VAR
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


def beacon_here(
    args: list[str], cwd: Path, home: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> subprocess.CompletedProcess:
    """`beacon ARGS` run by its own `main` in this process, in the environment `beacon` gets
    (cli_env), without a second Python start-up (~2 s a command)."""
    from beacon_pipelines.cli.main import main

    capsys.readouterr()
    with monkeypatch.context() as env:
        for key in [k for k in os.environ if k.startswith("BEACON_") and k != CATALOG_ENV_VAR]:
            env.delenv(key)
        env.setenv("DAGSTER_HOME", str(home))
        env.chdir(cwd)
        try:
            code = main(args)
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(["beacon", *args], code, captured.out, captured.err)
