"""Where the Dagster instance lives: $DAGSTER_HOME, or ./.dagster_home with the project's
dagster.yaml linked in, so the CLI, `make audit` and `make dev` share one instance."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = ".dagster_home"
# The project's instance settings (pools, queue, run monitoring), next to the package.
PROJECT_INSTANCE_CONFIG = Path(__file__).resolve().parents[2] / "dagster.yaml"


def ensure_dagster_home() -> Path:
    home = os.environ.get("DAGSTER_HOME")
    path = Path(home).resolve() if home else Path.cwd().resolve() / DEFAULT_HOME
    os.environ["DAGSTER_HOME"] = str(path)
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    if not config.exists() and not config.is_symlink():
        source = Path.cwd() / "dagster.yaml"
        source = source if source.exists() else PROJECT_INSTANCE_CONFIG
        if source.exists():
            config.symlink_to(source.resolve())
        else:
            # Installed without the project folder: Dagster's defaults, said explicitly.
            config.write_text("# Dagster defaults; see the Beacon README for pools.\n{}\n")
    return path
