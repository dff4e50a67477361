"""`beacon modal deploy`: run `modal deploy` on backends/modal/app.py with a catalog and names."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from beacon_pipelines.backends.modal.deployment import APP_NAME_ENV, HF_SECRET_ENV
from beacon_pipelines.catalog import CATALOG_ENV_VAR, load_catalog
from beacon_pipelines.yaml_config import ConfigFileError

MODAL_APP_PATH = Path(__file__).with_name("app.py")


def deploy_command(env: str | None = None) -> list[str]:
    # By file path: Modal then ships only app.py into the container (see its docstring).
    command = [sys.executable, "-m", "modal", "deploy", str(MODAL_APP_PATH)]
    if env:
        command += ["--env", env]
    return command


def deploy(
    catalog: Path | None = None,
    app_name: str | None = None,
    hf_secret: str | None = None,
    env: str | None = None,
    run: Callable[..., int] = subprocess.call,
) -> int:
    environ = os.environ.copy()
    try:
        if catalog is not None:
            load_catalog(catalog)  # a bad catalog fails here, with its one-line message
            environ[CATALOG_ENV_VAR] = str(Path(catalog).resolve())
    except ConfigFileError as exc:
        print(f"beacon modal deploy: error: {exc}", file=sys.stderr)
        return 2
    if app_name:
        environ[APP_NAME_ENV] = app_name
    if hf_secret is not None:
        environ[HF_SECRET_ENV] = hf_secret
    command = deploy_command(env)
    print("running: " + " ".join(command), flush=True)
    return run(command, env=environ)
