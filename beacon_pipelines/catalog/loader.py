"""Load and validate a catalog file, failing with one message that names file, field and value."""

from __future__ import annotations

import os
from pathlib import Path

from beacon_pipelines.catalog.model import Catalog
from beacon_pipelines.yaml_config import ConfigFileError, load_yaml_model

DEFAULT_CATALOG_PATH = Path(__file__).with_name("catalog.yaml")
CATALOG_ENV_VAR = "BEACON_CATALOG"


class CatalogError(ConfigFileError):
    """A catalog that cannot be used. The message is meant to be shown to the user as is."""


def default_catalog_path() -> Path:
    return Path(os.environ.get(CATALOG_ENV_VAR) or DEFAULT_CATALOG_PATH)


def load_catalog(path: str | os.PathLike | None = None) -> Catalog:
    return load_yaml_model(
        path if path is not None else default_catalog_path(), Catalog, CatalogError
    )
