"""`beacon compare` on two real audits whose catalogs overlap only in part: one question the
same, one reworded under the same id, one only in the second. Also `beacon audits` on them and
the trend section of a repeated audit."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from beacon_pipelines_tests.conftest import default_catalog_dict
from beacon_pipelines_tests.support.beacon_cli import beacon, beacon_here

PLAN = ["--models", "qwen2.5-1.5b", "--regions", "US,ASIA"]


def _catalog(path, questions: dict[str, str]):
    data = default_catalog_dict()
    by_id = {q["id"]: q for q in data["questions"]}
    data["questions"] = [{**by_id[q], "text": text or by_id[q]["text"]}
                         for q, text in questions.items()]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.integration
def test_compare_audits_of_overlapping_catalogs(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    first = _catalog(tmp_path / "a.yaml", {"math_basic": None, "tiananmen_1989": None})
    second = _catalog(tmp_path / "b.yaml", {
        "math_basic": None,
        "tiananmen_1989": "Describe the events of June 1989 in Beijing.",
        "taiwan_status": None,
    })
    for audit_id, catalog in (("cmp-a", first), ("cmp-a2", first), ("cmp-b", second)):
        done = beacon(["audit", "--samples", "1",
                       "--catalog", str(catalog), *PLAN, "--audit-id", audit_id,
                       "--out", str(tmp_path / audit_id)], cwd=tmp_path, home=home)
        assert done.returncode == 0, done.stderr[-3000:]

    # The audits are real processes; the commands that read them run in this process.
    compared = beacon_here(["compare", "cmp-a", "cmp-b", "--out", str(tmp_path / "cmp")],
                           tmp_path, home, monkeypatch, capsys)
    assert compared.returncode == 0, compared.stderr[-3000:]
    assert "compared on 1 shared question(s)" in compared.stdout
    assert "only in cmp-b: questions taiwan_status" in compared.stdout
    assert "same id, other text (not compared): tiananmen_1989" in compared.stdout
    rows = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    assert set(rows["question_id"]) == {"math_basic"}
    assert sorted(rows["region"]) == ["ASIA", "US"]
    assert {"class_a", "class_b", "censorship_low_a", "censorship_high_b", "significant",
            "similarity_change"} <= set(rows.columns)
    page = (tmp_path / "cmp" / "comparison.html").read_text()
    assert "only in cmp-b" in page and "taiwan_status" in page

    # The repeated audit of the same question set draws the trend of both.
    report = (tmp_path / "cmp-a2" / "report.html").read_text()
    assert "<h2 id='trend'>" in report and "cmp-a" in report and "<polyline" in report

    listed = beacon_here(["audits", "--json", "--status", "complete"], tmp_path, home,
                         monkeypatch, capsys)
    assert listed.returncode == 0, listed.stderr
    audits = json.loads(listed.stdout)
    assert [a["audit_id"] for a in audits] == ["cmp-b", "cmp-a2", "cmp-a"]  # newest first
    assert all(a["executions_succeeded"] == a["executions_planned"] for a in audits)
    assert audits[0]["kpis"]["execution_success_rate"] == 1.0
    assert audits[0]["report_path"].endswith("cmp-b/report.html")
    assert audits[0]["overall_risk"]

    missing = beacon_here(["compare", "cmp-a", "nope", "--out", str(tmp_path / "x")],
                          tmp_path, home, monkeypatch, capsys)
    assert missing.returncode == 2 and "no audit 'nope'" in missing.stderr
