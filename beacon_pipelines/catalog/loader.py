"""Load and validate a catalog file, failing with one message that names file, field and value.

The loaded catalog holds every question it asks: its own, those of its `questions_files`, or
(--questions-file) those of other files instead. `beacon audit` hands its choices to the run
workers through the environment (BEACON_CATALOG, BEACON_QUESTIONS_FILES,
BEACON_LANGUAGE_MODE), which `load_catalog()` without arguments reads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from beacon_pipelines.catalog.model import LANGUAGE_MODES, Catalog
from beacon_pipelines.catalog.question_files import QuestionFileError, load_question_files
from beacon_pipelines.yaml_config import ConfigFileError, load_yaml_model

DEFAULT_CATALOG_PATH = Path(__file__).with_name("catalog.yaml")
CATALOG_ENV_VAR = "BEACON_CATALOG"
QUESTIONS_FILES_ENV_VAR = "BEACON_QUESTIONS_FILES"  # os.pathsep-separated absolute paths
LANGUAGE_MODE_ENV_VAR = "BEACON_LANGUAGE_MODE"


class CatalogError(ConfigFileError):
    """A catalog that cannot be used. The message is meant to be shown to the user as is."""


def default_catalog_path() -> Path:
    return Path(os.environ.get(CATALOG_ENV_VAR) or DEFAULT_CATALOG_PATH)


def load_catalog(
    path: str | os.PathLike | None = None,
    questions_files: Sequence[str | os.PathLike] | None = None,
    language_mode: str | None = None,
) -> Catalog:
    """The catalog at `path`; `questions_files` replace its questions; `language_mode`
    overrides its own. Without a path, all three come from the environment (see above)."""
    if path is None:
        path = default_catalog_path()
        if questions_files is None and os.environ.get(QUESTIONS_FILES_ENV_VAR):
            questions_files = os.environ[QUESTIONS_FILES_ENV_VAR].split(os.pathsep)
        language_mode = language_mode or os.environ.get(LANGUAGE_MODE_ENV_VAR) or None
    catalog = load_yaml_model(path, Catalog, CatalogError)
    if language_mode is not None and language_mode not in LANGUAGE_MODES:
        raise CatalogError(
            f"language mode {language_mode!r}: expected one of {', '.join(LANGUAGE_MODES)}"
        )
    if questions_files:
        questions = load_question_files(questions_files)
    else:
        base = Path(path).parent
        own = [base / f for f in catalog.questions_files or ()]
        questions = [*catalog.questions, *load_question_files(own, known=catalog.questions)]
    update = {"questions": tuple(questions), "questions_files": None}
    if language_mode is not None:
        update["language_mode"] = language_mode
    # Every question was validated where it was read, and ids checked unique across files:
    # the catalog's hash covers what is asked, not where it was written.
    return catalog.model_copy(update=update)


def audit_environment(
    catalog_path: str | os.PathLike | None,
    questions_files: Sequence[str | os.PathLike] | None,
    language_mode: str | None,
) -> dict[str, str]:
    """The variables that make `load_catalog()` in a run worker load this same catalog."""
    env = {}
    if catalog_path:
        env[CATALOG_ENV_VAR] = str(Path(catalog_path).resolve())
    if questions_files:
        env[QUESTIONS_FILES_ENV_VAR] = os.pathsep.join(
            str(Path(f).resolve()) for f in questions_files
        )
    if language_mode:
        env[LANGUAGE_MODE_ENV_VAR] = language_mode
    return env


__all__ = ["CatalogError", "QuestionFileError", "audit_environment", "load_catalog"]
