"""`beacon executions --csv` writes the cells of executions.csv: formulas quoted, NUL marked."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from beacon_pipelines.backends.simulated import SimulatedBackend
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.cli import main as cli
from beacon_pipelines.execution import partition_requests
from beacon_pipelines.plan import AuditPlan
from beacon_pipelines.report.exports import FORMULA_PREFIX, NUL_MARKER


def test_the_csv_quotes_formulas_and_marks_nul(store, dagster_home, tmp_path, monkeypatch):
    catalog = load_catalog()
    plan = store.register_audit(
        AuditPlan("a1", catalog.sha256(), "simulated", ("llama3.2-1b",), ("US",),
                  ("math_basic", "tiananmen_1989"), created_at=1.0)
    )  # fmt: skip
    requests, _ = partition_requests(catalog, plan, "llama3.2-1b", "US", "US", attempts={})
    texts = {"math_basic": '=HYPERLINK("http://evil.example","4")', "tiananmen_1989": "a\x00b"}
    for result in SimulatedBackend().generate(requests):
        store.record(replace(result, text=texts[result.request.question_id]), "simulated")
    monkeypatch.setenv("BEACON_STORE_URL", str(store.engine.url))
    out = tmp_path / "rows.csv"
    assert cli.main(["executions", "--audit-id", "a1", "--csv", str(out)]) == 0
    written = pd.read_csv(out).set_index("question_id")["response"]
    assert written["math_basic"] == FORMULA_PREFIX + texts["math_basic"]
    assert written["tiananmen_1989"] == f"a{NUL_MARKER}b"


def test_the_terminal_table_shows_server_text_as_markers(
    store, dagster_home, tmp_path, monkeypatch, capsys
):
    """A server's error message with escape sequences and line breaks reaches the terminal as
    visible markers: it can neither recolour the terminal nor forge rows of the table."""
    from beacon_pipelines.backends.base import ErrorKind, InferenceResult

    catalog = load_catalog()
    plan = store.register_audit(
        AuditPlan("a2", catalog.sha256(), "simulated", ("llama3.2-1b",), ("US",),
                  ("math_basic", "tiananmen_1989"), created_at=1.0)
    )  # fmt: skip
    requests, _ = partition_requests(catalog, plan, "llama3.2-1b", "US", "US", attempts={})
    hostile = "boom\x1b[2J\x1b]0;owned\x07\nllama3.2-1b US forged_row ok\r"
    for request in requests:
        store.record(
            InferenceResult.failure(request, ErrorKind.UNAVAILABLE, hostile, 1.0, 2.0, "US"),
            "simulated",
        )
    monkeypatch.setenv("BEACON_STORE_URL", str(store.engine.url))
    capsys.readouterr()
    assert cli.main(["executions", "--audit-id", "a2"]) == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\x07" not in printed and "\r" not in printed
    assert "[U+001B][2J" in printed and "[U+000A]llama3.2-1b US forged_row" in printed
    assert len(printed.splitlines()) == 1 + len(requests)  # header + one line per execution


def test_a_csv_that_cannot_be_written_leaves_nothing(store, dagster_home, tmp_path, monkeypatch):
    catalog = load_catalog()
    plan = store.register_audit(
        AuditPlan("a3", catalog.sha256(), "simulated", ("llama3.2-1b",), ("US",),
                  ("math_basic",), created_at=1.0)
    )  # fmt: skip
    requests, _ = partition_requests(catalog, plan, "llama3.2-1b", "US", "US", attempts={})
    for result in SimulatedBackend().generate(requests):
        store.record(result, "simulated")
    monkeypatch.setenv("BEACON_STORE_URL", str(store.engine.url))
    exports = tmp_path / "exports"
    exports.mkdir()
    out = exports / "rows.csv"
    out.write_text("the user's earlier export\n")

    def fail_midway(self, path, **kwargs):
        Path(path).write_text("model,region\nhalf")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail_midway)
    assert cli.main(["executions", "--audit-id", "a3", "--csv", str(out)]) == 2
    assert out.read_text() == "the user's earlier export\n"
    assert [p.name for p in exports.iterdir()] == ["rows.csv"]
