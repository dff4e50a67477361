"""Typed catalog: regions, models, questions and generation parameters.

Pydantic validates shape and types; the cross-field rules (unique ids, partition-safe ids,
languages with a prompt) live here too so that a catalog is either wholly valid or rejected.
Categories are free-form; the catalog may declare some (`categories:`) to mark them sensitive.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Annotated, Literal

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

# The original system's category of questions every model answers the same everywhere.
CONTROL_CATEGORY = "control"
DEFAULT_LANGUAGE = "en"
LANGUAGE_MODES = ("native", "source")
KNOWN_GPUS = ("T4", "L4", "A10G", "A100", "A100-80GB", "L40S", "H100")

NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# A BCP 47-style tag as people write it: en, zh, fi, pt-BR, zh-Hant.
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
# Text given once, or per language ({en: ..., zh: ...}).
Localized = NonEmptyStr | dict[Language, NonEmptyStr]


def localized(value: str | dict[str, str], language: str) -> str:
    """The text for `language`: its own entry, else English, else the first one given."""
    if isinstance(value, str):
        return value
    return value.get(language) or value.get(DEFAULT_LANGUAGE) or next(iter(value.values()))


def _non_empty_mapping(value):
    if isinstance(value, dict) and not value:
        raise ValueError("needs at least one language")
    return value


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
    # What the system prompt says of where the assistant is ("the US"), or per language.
    prompt_context: Localized
    # The language this region is asked in when a question has it (None: English).
    language: Language | None = None
    # Glob patterns (case-insensitive) of the cloud regions whose answers count as this
    # region's; None: DEFAULT_CLOUD_REGIONS. An answer served elsewhere is a region_mismatch.
    cloud_regions: tuple[NonEmptyStr, ...] | None = Field(default=None, min_length=1)
    # The OpenAI-compatible server answering as this region (--openai-region-url overrides).
    openai_base_url: str | None = None

    _id = field_validator("id")(_check_id)
    _contexts = field_validator("prompt_context")(_non_empty_mapping)

    @property
    def asked_in(self) -> str:
        return self.language or DEFAULT_LANGUAGE

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


class Category(_Strict):
    """What the catalog says of a category: whether its questions are politically sensitive
    (None: decided from the question's words, as the original system did)."""

    sensitive: bool | None = None
    description: str | None = None


class Question(_Strict):
    id: str
    category: NonEmptyStr  # free-form: a topic, a question set, ...
    # The text in the question's own language. Written as a mapping ({en: ..., zh: ...}) in a
    # file, it is split into this text and `translations`.
    text: NonEmptyStr
    language: Language | None = None  # the language of `text` (None: English)
    translations: dict[Language, NonEmptyStr] | None = None
    # Politically sensitive or not; None: the category's field, else the question's words.
    sensitive: bool | None = None
    # A question every model should answer the same everywhere (category control is one too).
    control: bool | None = None

    _id = field_validator("id")(_check_id)

    @model_validator(mode="before")
    @classmethod
    def _split_text_mapping(cls, data):
        if not isinstance(data, dict) or not isinstance(data.get("text"), dict):
            return data
        texts = dict(data["text"])
        if not texts:
            raise ValueError("text needs at least one language")
        language = data.get("language")
        if language is None:
            language = DEFAULT_LANGUAGE if DEFAULT_LANGUAGE in texts else next(iter(texts))
        if language not in texts:
            raise ValueError(f"language {language!r} has no entry in text ({', '.join(texts)})")
        text = texts.pop(language)
        return {**data, "text": text, "language": language,
                "translations": {**texts, **(data.get("translations") or {})} or None}

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.translations and self.source_language in self.translations:
            raise ValueError(
                f"translations repeat the question's own language {self.source_language!r}"
            )
        if self.control and self.sensitive:
            raise ValueError("a control question cannot be sensitive")
        return self

    @property
    def source_language(self) -> str:
        return self.language or DEFAULT_LANGUAGE

    def text_in(self, language: str) -> str | None:
        """The text in `language`, if the question has it."""
        if language == self.source_language:
            return self.text
        return (self.translations or {}).get(language)

    @property
    def languages(self) -> list[str]:
        return [self.source_language, *(self.translations or {})]


@dataclass(frozen=True)
class Asked:
    """How one question is put to one region: in which language, with which texts."""

    language: str
    question: str
    system_prompt: str


def _unique(items: tuple, what: str) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.id in seen:
            raise ValueError(f"duplicate {what} id {item.id!r} (entry {index})")
        seen.add(item.id)


class Catalog(_Strict):
    version: int = Field(ge=1, le=1)
    generation: Generation
    # One template, or one per language ({en: ..., zh: ...}); each has {prompt_context}.
    system_prompt_template: Localized
    regions: tuple[Region, ...] = Field(min_length=1)
    models: tuple[Model, ...] = Field(min_length=1)
    questions: tuple[Question, ...] = ()
    # Question files read by the loader (paths relative to the catalog file): JSONL, CSV or
    # YAML, see question_files.py. The loaded catalog has their questions in `questions`.
    questions_files: tuple[NonEmptyStr, ...] | None = None
    # Declared categories (any other is allowed too): sensitivity, a description.
    categories: dict[NonEmptyStr, Category] | None = None
    # native: each region is asked in its language when the question has it; source: every
    # region in the question's own language. None: native.
    language_mode: Literal["native", "source"] | None = None

    @field_validator("system_prompt_template")
    @classmethod
    def _has_placeholder(cls, value: str | dict[str, str]) -> str | dict[str, str]:
        _non_empty_mapping(value)
        templates = {"": value} if isinstance(value, str) else value
        for language, template in templates.items():
            if "{prompt_context}" not in template:
                where = f" ({language})" if language else ""
                raise ValueError(f"must contain the placeholder {{prompt_context}}{where}")
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> Catalog:
        if not self.questions and not self.questions_files:
            raise ValueError("the catalog has no questions: list some, or questions_files")
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
        # By dict: a 2,000-question audit looks each one up per sample and per partition.
        found = self._questions_by_id.get(question_id)
        return found if found is not None else _by_id(self.questions, question_id, "question")

    @functools.cached_property
    def _questions_by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    def region_of_cloud_region(self, cloud_region: str) -> str | None:
        """The first catalog region whose patterns take `cloud_region`, if any."""
        return next((r.id for r in self.regions if r.contains_cloud_region(cloud_region)), None)

    def system_prompt(self, region_id: str, language: str | None = None) -> str:
        """The region's system prompt in `language` (default: the region's own)."""
        region = self.region(region_id)
        language = language or region.asked_in
        return localized(self.system_prompt_template, language).format(
            prompt_context=localized(region.prompt_context, language)
        )

    @property
    def effective_language_mode(self) -> str:
        return self.language_mode or "native"

    def asked(self, question_id: str, region_id: str) -> Asked:
        """In which language, and with which texts, `region_id` is asked `question_id`: in the
        region's language when the question has a text in it (language mode native), else in
        the question's own language."""
        question = self.question(question_id)
        language = question.source_language
        if self.effective_language_mode == "native":
            wanted = self.region(region_id).asked_in
            if question.text_in(wanted) is not None:
                language = wanted
        return Asked(language, question.text_in(language), self.system_prompt(region_id, language))

    @property
    def category_ids(self) -> list[str]:
        """Every category of the questions, in the order they first appear."""
        return list(dict.fromkeys(q.category for q in self.questions))

    def questions_in(self, categories) -> list[str]:
        """Ids of the questions in these categories, in catalog order."""
        wanted = set(categories)
        return [q.id for q in self.questions if q.category in wanted]

    def sensitive(self, question_id: str) -> bool | None:
        """The catalog's word on a question's sensitivity: its own field, else its category's;
        None when neither says (the analysis then reads the question's words)."""
        question = self.question(question_id)
        if question.sensitive is not None:
            return question.sensitive
        if question.control:
            return False
        category = (self.categories or {}).get(question.category)
        return category.sensitive if category is not None else None

    def sensitive_by_question(self) -> dict[str, bool | None]:
        return {q.id: self.sensitive(q.id) for q in self.questions}

    @property
    def control_question_ids(self) -> list[str]:
        return [q.id for q in self.questions if q.control or q.category == CONTROL_CATEGORY]

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
