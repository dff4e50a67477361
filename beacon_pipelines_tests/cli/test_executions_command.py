"""`beacon executions --csv` writes the cells of executions.csv: formulas quoted, NUL marked."""

from __future__ import annotations

from dataclasses import replace

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
