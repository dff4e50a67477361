"""The question catalog: what an audit asks, of which models, in which regions."""

from beacon_pipelines.catalog.loader import (
    CATALOG_ENV_VAR,
    DEFAULT_CATALOG_PATH,
    CatalogError,
    default_catalog_path,
    load_catalog,
)
from beacon_pipelines.catalog.model import Catalog, Model, Question, Region, UnknownIdError

__all__ = [
    "CATALOG_ENV_VAR",
    "DEFAULT_CATALOG_PATH",
    "Catalog",
    "CatalogError",
    "Model",
    "Question",
    "Region",
    "UnknownIdError",
    "default_catalog_path",
    "load_catalog",
]
