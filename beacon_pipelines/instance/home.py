"""Where the Dagster instance lives: $DAGSTER_HOME, or ./.dagster_home with the project's
dagster.yaml linked in, so the CLI, `make audit` and `make dev` share one instance."""

from __future__ import annotations

import os
from pathlib import Path

from beacon_pipelines.instance.errors import InstanceUnavailableError

DEFAULT_HOME = ".dagster_home"
# The project's instance settings (pools, queue, run monitoring), next to the package.
PROJECT_INSTANCE_CONFIG = Path(__file__).resolve().parents[2] / "dagster.yaml"


def dagster_home() -> Path:
    """The instance's folder, checked but not created: reading commands create nothing."""
    home = os.environ.get("DAGSTER_HOME")
    path = Path(home).resolve() if home else Path.cwd().resolve() / DEFAULT_HOME
    # A file in the way would surface later as a FileExistsError or NotADirectoryError
    # traceback from whatever first writes there.
    label = "DAGSTER_HOME" if home else "the Dagster home"
    if path.exists() and not path.is_dir():
        raise InstanceUnavailableError(f"{label} {path} is a file, not a folder")
    existing = path.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InstanceUnavailableError(f"{label} {path}: {existing} is a file, not a folder")
    return path


def ensure_dagster_home() -> Path:
    path = dagster_home()
    os.environ["DAGSTER_HOME"] = str(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        _link_instance_config(path / "dagster.yaml")
    except OSError as exc:
        raise InstanceUnavailableError(
            f"cannot set up the Dagster home {path}: {exc.strerror or exc}"
        ) from None
    return path


def _link_instance_config(config: Path) -> None:
    if config.exists() or config.is_symlink():
        return
    source = Path.cwd() / "dagster.yaml"
    source = source if source.exists() else PROJECT_INSTANCE_CONFIG
    if source.exists():
        try:
            config.symlink_to(source.resolve())
        except FileExistsError:
            pass  # an audit started at the same moment linked it first
    else:
        # Installed without the project folder: Dagster's defaults, said explicitly.
        config.write_text("# Dagster defaults; see the Beacon README for pools.\n{}\n")
