"""Typed catalog: regions, models, questions and generation parameters.

Pydantic validates shape and types; the cross-field rules (unique ids, partition-safe ids,
known categories) live here too so that a catalog is either wholly valid or rejected.
"""

from __future__ import annotations

import fnmatch
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


# The cloud regions that count as inside a Beacon region when the catalog lists none, by the
# broad area of its Modal region (us, eu, ap) or else its id. Modal's own names (MODAL_REGION:
# us-east-1, us-ashburn-1, eu-west-1, ...) and the clouds' (GCP europe-west4, asia-east1) both
# start this way; names of another form (Azure's westeurope) need listing in the catalog.
DEFAULT_CLOUD_REGIONS: dict[str, tuple[str, ...]] = {
    "us": ("us", "us-*"),
    "eu": ("eu", "eu-*", "europe-*"),
    "ap": ("ap", "ap-*", "asia-*"),
}
_AREA_OF_REGION_ID = {"us": "us", "eu": "eu", "asia": "ap", "ap": "ap"}


class Region(_Strict):
    id: str
    modal_region: NonEmptyStr
    prompt_context: NonEmptyStr
    # Glob patterns (case-insensitive) of the cloud regions whose answers count as this
    # region's; None: DEFAULT_CLOUD_REGIONS. An answer served elsewhere is a region_mismatch.
    cloud_regions: tuple[NonEmptyStr, ...] | None = Field(default=None, min_length=1)
    # The OpenAI-compatible server answering as this region (--openai-region-url overrides).
    openai_base_url: str | None = None

    _id = field_validator("id")(_check_id)

    @field_validator("openai_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"openai_base_url {value!r} is not an http(s) URL")
        return value

    @property
    def cloud_region_patterns(self) -> tuple[str, ...]:
        if self.cloud_regions:
            return tuple(self.cloud_regions)
        area = self.modal_region.split("-", 1)[0].lower()
        if area not in DEFAULT_CLOUD_REGIONS:
            area = _AREA_OF_REGION_ID.get(self.id.lower(), "")
        return DEFAULT_CLOUD_REGIONS.get(area, (self.modal_region, f"{self.modal_region}-*"))

    def contains_cloud_region(self, cloud_region: str) -> bool:
        name = cloud_region.strip().lower()
        return any(fnmatch.fnmatchcase(name, p.lower()) for p in self.cloud_region_patterns)


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

    def region_of_cloud_region(self, cloud_region: str) -> str | None:
        """The first catalog region whose patterns take `cloud_region`, if any."""
        return next((r.id for r in self.regions if r.contains_cloud_region(cloud_region)), None)

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
