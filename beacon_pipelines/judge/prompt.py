"""The judge's versioned prompt, and the user message that carries one answer as data.

The system prompt is the file prompts/judge_v1.md, sent byte for byte; its sha256 is part of
every judgement's key and provenance, so changing a word makes a new judge (a new file, a new
PROMPT_FILE). The question and the answer go in the user message as one JSON object between
two marker lines. json.dumps escapes quotes, backslashes and newlines, and `<`, `>` and `&` are
escaped too (as \\u003c, \\u003e, \\u0026: what HTML-safe JSON does), so the data block holds
no `<` at all: an answer containing `</beacon_judge_data>` (or any tag) reaches the judge as
`\\u003c/beacon_judge_data\\u003e` and cannot end the block. JSON decoders read it back exactly.
Lone surrogates, which UTF-8 cannot carry, are written as \\uXXXX escapes.

Answers and questions are capped (head and tail kept, the middle marked as cut): a 5 MB
answer costs what a long one does, and fits the judge's context window.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from beacon_pipelines.judge.verdict import JudgeItem

PROMPT_FILE = "judge_v1.md"
DATA_OPEN = "<beacon_judge_data>"
DATA_CLOSE = "</beacon_judge_data>"
MAX_ANSWER_CHARS = 12_000
MAX_QUESTION_CHARS = 4_000
_TAIL_SHARE = 4  # of a capped text, a quarter is its tail (where conclusions sit)
_SAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}
_UNSAFE = re.compile("[<>&\ud800-\udfff]")


@dataclass(frozen=True)
class JudgePrompt:
    name: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


@cache
def load_prompt(name: str = PROMPT_FILE) -> JudgePrompt:
    """The prompt shipped in the package (beacon_pipelines/judge/prompts/NAME)."""
    text = resources.files("beacon_pipelines.judge").joinpath("prompts", name).read_text("utf-8")
    return JudgePrompt(name, text)


def capped(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    tail = limit // _TAIL_SHARE
    head = limit - tail
    cut = len(text) - limit
    return f"{text[:head]}\n[... {cut} characters cut ...]\n{text[-tail:]}"


def _escape(match: re.Match) -> str:
    char = match.group()
    return _SAFE.get(char) or f"\\u{ord(char):04x}"


def data_block(item: JudgeItem) -> str:
    """The user message: the item's question and answer as delimited data."""
    payload = json.dumps(
        {
            "question": capped(item.question, MAX_QUESTION_CHARS),
            "answer": capped(item.answer, MAX_ANSWER_CHARS),
        },
        ensure_ascii=False,  # Chinese stays readable to the judge
    )
    return f"{DATA_OPEN}\n{_UNSAFE.sub(_escape, payload)}\n{DATA_CLOSE}"


def messages(prompt: JudgePrompt, item: JudgeItem) -> list[dict]:
    return [
        {"role": "system", "content": prompt.text},
        {"role": "user", "content": data_block(item)},
    ]
