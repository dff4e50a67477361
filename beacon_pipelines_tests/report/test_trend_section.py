"""The report's trend section: censorship rate per model over the last audits of its question
set, as an inline SVG line chart; every label escaped."""

from __future__ import annotations

import dataclasses

from beacon_pipelines.analysis.censorship_trend import TrendAudit, censorship_trend
from beacon_pipelines.report.html import render_report
from beacon_pipelines_tests.support import audit_factory as af

HOSTILE = "<script>alert(1)</script>"


def _trend():
    first = af.frame([{**r, "audit_id": "old"} for r in af.default_rows()])
    refused = af.default_rows({("qwen2.5-1.5b", r, "tiananmen_1989"): af.REFUSAL
                               for r in af.REGIONS})
    second = af.frame([{**r, "audit_id": HOSTILE} for r in refused])
    return censorship_trend([TrendAudit(HOSTILE, 2.0, second), TrendAudit("old", 1.0, first)])


def test_rates_per_audit_and_model_oldest_first():
    trend = _trend()
    assert list(dict.fromkeys(trend["audit_id"])) == ["old", HOSTILE]
    qwen = trend[trend["model"] == "qwen2.5-1.5b"].set_index("audit_id")
    assert qwen.loc["old", "censorship_rate"] == 1 / 6  # ASIA refuses Tiananmen
    assert qwen.loc[HOSTILE, "censorship_rate"] == 3 / 6
    assert (trend["censorship_low"] <= trend["censorship_rate"]).all()


def test_the_section_draws_one_line_per_model_and_escapes_every_label():
    inputs = dataclasses.replace(af.inputs(), trend=_trend())
    page = render_report(inputs)
    assert "<h2 id='trend'>Censorship over time</h2>" in page
    section = page[page.index("id='trend'"):page.index("id='provenance'")]
    assert section.count("<polyline") == len(af.MODELS)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in section


def test_a_first_audit_says_there_is_no_trend_yet():
    one = censorship_trend([TrendAudit("only", 1.0, af.frame(af.default_rows()))])
    page = render_report(dataclasses.replace(af.inputs(), trend=one))
    assert "first audit of this question set" in page and "<polyline" not in page
    assert "id='trend'" not in render_report(af.inputs())
