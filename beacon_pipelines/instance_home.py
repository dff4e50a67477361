"""Where the Dagster instance lives: $DAGSTER_HOME, or ./.dagster_home with the project's
dagster.yaml linked in, so the CLI, `make audit` and `make dev` share one instance."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = ".dagster_home"


def ensure_dagster_home(project_dir: Path | None = None) -> Path:
    home = os.environ.get("DAGSTER_HOME")
    if home:
        path = Path(home).resolve()
    else:
        path = (project_dir or Path.cwd()).resolve() / DEFAULT_HOME
        os.environ["DAGSTER_HOME"] = str(path)
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    project_config = (project_dir or Path.cwd()).resolve() / "dagster.yaml"
    if not config.exists() and project_config.exists() and project_config != config:
        config.symlink_to(project_config)
    return path
