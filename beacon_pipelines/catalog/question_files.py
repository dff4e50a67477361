"""Question sets from files: hundreds or thousands of prompts a catalog cannot list by hand.

Three formats, chosen by the file's extension:

- `.jsonl`: one object a line, SpeechMap's `{id, category, question}`; `text` may stand for
  `question`, and `language`, `translations`, `sensitive`, `control` may follow.
- `.csv`: promptfoo's `prompt` and `subject` columns, or Beacon's `id`, `category`, `text`,
  `language`, `sensitive`, `control` and one `text_<language>` column per translation.
- `.yaml` / `.yml`: a list of questions as the catalog writes them (`text` may be a mapping
  `{en: ..., zh: ...}`), or a mapping with that list under `questions`.

A question without an id gets one derived from its text's hash, so the same text always has
the same id. Anything wrong is one error naming the file, the line and the value.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from pathlib import Path

import yaml
from pydantic import ValidationError

from beacon_pipelines.catalog.model import Question
from beacon_pipelines.yaml_config import ConfigFileError, SafeLoader, safe_load

JSONL_KEYS = ("id", "category", "question", "text", "language", "translations", "sensitive",
              "control")
CSV_COLUMNS = ("id", "category", "text", "language", "sensitive", "control")
# promptfoo's names for the same columns.
CSV_ALIASES = {"prompt": "text", "subject": "category"}
TRANSLATION_PREFIX = "text_"
SUFFIXES = (".jsonl", ".csv", ".yaml", ".yml")


class QuestionFileError(ConfigFileError):
    """A question file that cannot be used; the message names file, line and value."""


def derived_id(text: str) -> str:
    """A stable id for a question a file gives without one: from its text alone."""
    return "q-" + hashlib.sha256(text.strip().encode()).hexdigest()[:12]


def load_question_files(
    paths: Iterable[str | Path], known: Iterable[Question] = ()
) -> list[Question]:
    """The questions of every file, in order; an id met twice (in these files, or among
    `known`, the catalog's own) is an error naming where it is met the second time."""
    seen = {q.id: "the catalog" for q in known}
    questions: list[Question] = []
    for path in map(Path, paths):
        for line, question in _read(path):
            if question.id in seen:
                raise QuestionFileError(
                    f"{path}, line {line}: duplicate question id {question.id!r} (first in "
                    f"{seen[question.id]})"
                )
            seen[question.id] = f"{path}, line {line}"
            questions.append(question)
    return questions


def _read(path: Path) -> list[tuple[int, Question]]:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise QuestionFileError(
            f"{path}: unknown question file type {path.suffix!r}; expected one of "
            f"{', '.join(SUFFIXES)}"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets write a BOM
    except FileNotFoundError:
        raise QuestionFileError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError(f"{path}: cannot read: {exc}") from None
    reader = {".jsonl": _jsonl, ".csv": _csv}.get(suffix, _yaml)
    entries = reader(path, text)
    if not entries:
        raise QuestionFileError(f"{path}: no questions in the file")
    return [(line, _question(path, line, raw)) for line, raw in entries]


def _question(path: Path, line: int, raw: dict) -> Question:
    raw = dict(raw)
    if raw.get("id") in (None, ""):
        text = raw.get("text")
        source = text if isinstance(text, str) else None
        if isinstance(text, dict) and text:
            source = text.get(raw.get("language") or "en") or next(iter(text.values()))
        if isinstance(source, str):
            raw["id"] = derived_id(source)  # an empty text fails below, as itself
    try:
        return Question.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "(entry)"
        if error["type"] == "missing":
            problem = f"field {field}: required but missing"
        elif error["type"] == "extra_forbidden":
            problem = f"field {field}: unknown key"
        else:
            message = error["msg"].removeprefix("Value error, ")
            value = error.get("input")
            shown = f"a {type(value).__name__}" if isinstance(value, dict | list) else repr(value)
            problem = f"field {field}: {message} (value: {shown})"
        ident = raw.get("id")
        named = f" (id {ident!r})" if isinstance(ident, str) and ident else ""
        raise QuestionFileError(f"{path}, line {line}{named}: {problem}") from None


def _jsonl(path: Path, text: str) -> list[tuple[int, dict]]:
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionFileError(f"{path}, line {number}: invalid JSON: {exc.msg}") from None
        if not isinstance(raw, dict):
            raise QuestionFileError(
                f"{path}, line {number}: expected a JSON object, got {type(raw).__name__}"
            )
        unknown = [k for k in raw if k not in JSONL_KEYS]
        if unknown:
            raise QuestionFileError(
                f"{path}, line {number}: unknown key {unknown[0]!r}; expected "
                f"{', '.join(JSONL_KEYS)}"
            )
        if "question" in raw and "text" in raw:
            raise QuestionFileError(
                f"{path}, line {number}: both 'question' and 'text'; give one"
            )
        if "question" in raw:
            raw["text"] = raw.pop("question")
        entries.append((number, raw))
    return entries


def _csv(path: Path, text: str) -> list[tuple[int, dict]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return []
    except csv.Error as exc:
        raise QuestionFileError(f"{path}, line 1: invalid CSV: {exc}") from None
    columns = []
    for name in header:
        column = CSV_ALIASES.get(name.strip(), name.strip())
        translation = column.startswith(TRANSLATION_PREFIX) and column != TRANSLATION_PREFIX
        if column not in CSV_COLUMNS and not translation:
            raise QuestionFileError(
                f"{path}, line 1: unknown column {name!r}; expected {', '.join(CSV_COLUMNS)}, "
                f"text_<language> for a translation, or promptfoo's prompt and subject"
            )
        if column in columns:
            raise QuestionFileError(f"{path}, line 1: column {name!r} given twice (or with "
                                    "its promptfoo name)")
        columns.append(column)
    if "text" not in columns:
        raise QuestionFileError(f"{path}, line 1: no text column (text, or promptfoo's prompt)")
    entries = []
    try:
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                raise QuestionFileError(
                    f"{path}, line {number}: {len(row)} values for {len(columns)} columns"
                )
            raw: dict = {}
            translations = {}
            for column, cell in zip(columns, row, strict=True):
                if column.startswith(TRANSLATION_PREFIX):
                    if cell.strip():
                        translations[column.removeprefix(TRANSLATION_PREFIX)] = cell
                elif column == "text" or cell.strip():
                    raw[column] = cell
            if translations:
                raw["translations"] = translations
            entries.append((number, raw))
    except csv.Error as exc:
        raise QuestionFileError(f"{path}, line {reader.line_num}: invalid CSV: {exc}") from None
    return entries


def _yaml(path: Path, text: str) -> list[tuple[int, dict]]:
    try:
        root = yaml.compose(text, Loader=SafeLoader)
        data = safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise QuestionFileError(f"{path}{where}: invalid YAML: {problem}") from None
    if isinstance(data, dict):
        unknown = [k for k in data if k != "questions"]
        if unknown:
            raise QuestionFileError(f"{path}: field {unknown[0]}: unknown key; expected questions")
        data = data.get("questions")
        root = next((v for k, v in root.value if k.value == "questions"), None)
    if not isinstance(data, list):
        raise QuestionFileError(f"{path}: expected a list of questions (or questions: [...])")
    entries = []
    for node, raw in zip(root.value, data, strict=True):
        line = node.start_mark.line + 1
        if not isinstance(raw, dict):
            raise QuestionFileError(
                f"{path}, line {line}: expected a question (id, category, text), got "
                f"{type(raw).__name__}"
            )
        entries.append((line, raw))
    return entries
