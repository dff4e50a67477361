"""Typed catalog: regions, models, questions and generation parameters.

Pydantic validates shape and types; the cross-field rules (unique ids, partition-safe ids,
known categories) live here too so that a catalog is either wholly valid or rejected.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

# Dagster partition keys may not contain these; ids become partition keys.
FORBIDDEN_ID_CHARS = "|,[]"
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")

QUESTION_CATEGORIES = ("control", "bias_detection", "cultural_perspective")
KNOWN_GPUS = ("T4", "L4", "A10G", "A100", "A100-80GB", "L40S", "H100")

NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _check_id(value: str) -> str:
    bad = sorted({c for c in value if c in FORBIDDEN_ID_CHARS or c.isspace()})
    if bad:
        raise ValueError(
            f"id {value!r} contains {''.join(bad)!r}; ids become Dagster partition keys and may "
            f"not contain {FORBIDDEN_ID_CHARS!r} or whitespace"
        )
    if not _ID_PATTERN.match(value):
        raise ValueError(
            f"id {value!r} must start with a letter or digit and use only letters, digits, '.', "
            "'_' or '-'"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Generation(_Strict):
    temperature: float = Field(ge=0.0, le=2.0)
    max_new_tokens: int = Field(ge=1, le=8192)
    questions_per_prompt: int = Field(default=1, ge=1, le=1)


class Region(_Strict):
    id: str
    modal_region: NonEmptyStr
    prompt_context: NonEmptyStr

    _id = field_validator("id")(_check_id)


class Model(_Strict):
    id: str
    hf_id: NonEmptyStr
    gpu: tuple[str, ...] = Field(min_length=1)
    # Where the model's developer is based: the report diffs other regions' answers against it.
    home_region: str | None = None

    _id = field_validator("id")(_check_id)

    @field_validator("gpu")
    @classmethod
    def _known_gpu(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for gpu in value:
            if gpu not in KNOWN_GPUS:
                raise ValueError(f"unknown GPU {gpu!r}; expected one of {', '.join(KNOWN_GPUS)}")
        return value


class Question(_Strict):
    id: str
    category: str
    text: NonEmptyStr

    _id = field_validator("id")(_check_id)

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in QUESTION_CATEGORIES:
            raise ValueError(
                f"unknown category {value!r}; expected one of {', '.join(QUESTION_CATEGORIES)}"
            )
        return value


def _unique(items: tuple, what: str) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.id in seen:
            raise ValueError(f"duplicate {what} id {item.id!r} (entry {index})")
        seen.add(item.id)


class Catalog(_Strict):
    version: int = Field(ge=1, le=1)
    generation: Generation
    system_prompt_template: NonEmptyStr
    regions: tuple[Region, ...] = Field(min_length=1)
    models: tuple[Model, ...] = Field(min_length=1)
    questions: tuple[Question, ...] = Field(min_length=1)

    @field_validator("system_prompt_template")
    @classmethod
    def _has_placeholder(cls, value: str) -> str:
        if "{prompt_context}" not in value:
            raise ValueError("must contain the placeholder {prompt_context}")
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> Catalog:
        _unique(self.regions, "region")
        _unique(self.models, "model")
        _unique(self.questions, "question")
        for model in self.models:
            if model.home_region is not None and model.home_region not in self.region_ids:
                raise ValueError(
                    f"model {model.id!r}: home_region {model.home_region!r} is not a region "
                    f"of the catalog ({', '.join(self.region_ids)})"
                )
        return self

    # -- lookups -----------------------------------------------------------------------------

    @property
    def region_ids(self) -> list[str]:
        return [r.id for r in self.regions]

    @property
    def model_ids(self) -> list[str]:
        return [m.id for m in self.models]

    @property
    def question_ids(self) -> list[str]:
        return [q.id for q in self.questions]

    def region(self, region_id: str) -> Region:
        return _by_id(self.regions, region_id, "region")

    def model(self, model_id: str) -> Model:
        return _by_id(self.models, model_id, "model")

    def question(self, question_id: str) -> Question:
        return _by_id(self.questions, question_id, "question")

    def system_prompt(self, region_id: str) -> str:
        return self.system_prompt_template.format(
            prompt_context=self.region(region_id).prompt_context
        )

    def sha256(self) -> str:
        """Content hash: two catalogs that ask the same things hash the same."""
        # exclude_none: an optional field left out does not change the hash of older catalogs.
        canonical = json.dumps(self.model_dump(mode="json", exclude_none=True), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


class UnknownIdError(LookupError):
    """An id that the catalog does not define (a CLI filter, a partition key, a stored row)."""


def _by_id(items, item_id: str, what: str):
    for item in items:
        if item.id == item_id:
            return item
    known = ", ".join(i.id for i in items)
    raise UnknownIdError(f"unknown {what} {item_id!r}; the catalog has: {known}")
