"""Load a YAML file into a pydantic model, failing with one line: file, field, value, problem."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
# libyaml's parser where PyYAML was built with it: the same values and error marks, ~10x less
# CPU (the catalog is read before every audit's first call; see README, "Performance").
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str):
    """yaml.safe_load, with libyaml when available."""
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a safe loader


class ConfigFileError(ValueError):
    """A configuration file that cannot be used; the message is shown to the user as is."""


def load_yaml_model(
    path: str | os.PathLike, model: type[M], error: type[ConfigFileError] = ConfigFileError
) -> M:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    try:
        raw = safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{path}: invalid YAML{where}: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise error(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise error(f"{path}: {describe_validation_error(exc, raw)}") from None


def describe_validation_error(exc: ValidationError, raw: dict) -> str:
    """The first error as 'field F: problem (value: V)', one line a person can act on."""
    errors = exc.errors()
    first = errors[0]
    field = _field_path(first["loc"], raw) or "(top level)"
    more = len(errors) - 1
    suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    if first["type"] == "extra_forbidden":
        return f"field {field}: unknown key{suffix}"
    if first["type"] == "missing":
        return f"field {field}: required but missing{suffix}"
    message = first["msg"].removeprefix("Value error, ")
    value = first.get("input")
    shown = f"a {type(value).__name__}" if isinstance(value, (dict, list)) else repr(value)
    return f"field {field}: {message} (value: {shown}){suffix}"


def _field_path(loc: tuple, raw: dict) -> str:
    """regions[2] (id 'EU').modal_region: with the entry's id, to find it in a long file."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int):
            label = f"[{key}]"
            entry = node[key] if isinstance(node, list) and key < len(node) else None
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                label = f"[{key}] (id {entry['id']!r})"
            parts.append(label)
            node = entry
        else:
            parts.append(("." if parts else "") + str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts)
