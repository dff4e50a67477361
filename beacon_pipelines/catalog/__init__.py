"""The question catalog: what an audit asks, of which models, in which regions."""

from beacon_pipelines.catalog.loader import (
    CATALOG_ENV_VAR,
    DEFAULT_CATALOG_PATH,
    LANGUAGE_MODE_ENV_VAR,
    QUESTIONS_FILES_ENV_VAR,
    CatalogError,
    audit_environment,
    default_catalog_path,
    load_catalog,
)
from beacon_pipelines.catalog.model import (
    LANGUAGE_MODES,
    Catalog,
    Model,
    Question,
    Region,
    UnknownIdError,
)
from beacon_pipelines.catalog.question_files import QuestionFileError

__all__ = [
    "CATALOG_ENV_VAR",
    "DEFAULT_CATALOG_PATH",
    "Catalog",
    "CatalogError",
    "LANGUAGE_MODES",
    "LANGUAGE_MODE_ENV_VAR",
    "QUESTIONS_FILES_ENV_VAR",
    "QuestionFileError",
    "audit_environment",
    "Model",
    "Question",
    "Region",
    "UnknownIdError",
    "default_catalog_path",
    "load_catalog",
]
