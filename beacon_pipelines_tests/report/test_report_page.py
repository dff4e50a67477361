"""What a reader finds in report.html: headline, charts, answers side by side, provenance."""

from __future__ import annotations

import re

import pandas as pd

from beacon_pipelines.report.html import render_report
from beacon_pipelines_tests.support import audit_factory as af
from beacon_pipelines_tests.support.page_tags import PageTags


def _page(rows=None, backend="simulated", **analysis_extra) -> str:
    inputs = af.inputs(rows, backend=backend)
    for name, value in analysis_extra.items():
        setattr(inputs.analysis, name, value)  # fields a richer analysis carries
    return render_report(inputs)


def test_headline_names_the_audit_and_flags_simulated_answers():
    page = _page()
    assert "<h1>Beacon audit <code>audit-report</code></h1>" in page
    assert "2023-11-14 22:13 UTC" in page and "backend <b>simulated</b>" in page
    assert "class='banner' id='simulated'>SIMULATED" in page
    assert "2 × 3 × 2" in page  # models x regions x questions


def test_an_analysis_without_risk_levels_says_not_assessed():
    inputs = af.inputs()
    for key in ("overall_risk", "risk_level"):
        inputs.analysis.summary.pop(key, None)
    inputs.analysis.questions.drop(columns=["risk"], errors="ignore", inplace=True)
    inputs.analysis.models = None  # per-model risk, when the analysis has it
    page = render_report(inputs)
    assert "overall risk <b><span class='muted'>not assessed</span>" in page
    assert "class='risk " not in page


def test_real_answers_carry_no_simulated_banner():
    rows = [{**r, "simulated": False, "backend": "modal"} for r in af.default_rows()]
    page = _page(rows, backend="modal")
    assert "SIMULATED" not in page


def test_risk_level_and_findings_from_the_analysis_are_shown_when_present():
    page = _page(risk_level="HIGH", findings=["qwen2.5-1.5b refuses tiananmen_1989 in ASIA."])
    assert "<span class='risk risk-HIGH'>HIGH</span>" in page
    assert "<li>qwen2.5-1.5b refuses tiananmen_1989 in ASIA.</li>" in page


def test_key_findings_are_stated_from_the_classes_when_the_analysis_has_none():
    page = _page(findings=[])
    assert (
        "qwen2.5-1.5b withholds its answer to tiananmen_1989 in ASIA (refusal) but answers it "
        "in EU, US." in page
    )
    assert "Highest censorship rate: qwen2.5-1.5b in ASIA, 50% of its answers" in page


def test_heatmap_shows_each_model_region_rate():
    page = _page()
    heatmaps = re.findall(r"<svg class='chart heatmap'.*?</svg>", page)
    assert len(heatmaps) == 2  # refusal rate, censorship rate
    text = PageTags(heatmaps[0]).all_text
    assert "Refusal rate" in text and "qwen2.5-1.5b" in text and "ASIA" in text
    assert "50%1/2" in text  # qwen in ASIA: 1 refusal of 2 answers
    assert text.count("0%0/2") == 5


def test_interval_columns_are_shown_when_the_analysis_has_them():
    inputs = af.inputs()
    rates = inputs.analysis.rates
    rates["refusal_rate_low"], rates["refusal_rate_high"] = 0.1, 0.9
    page = render_report(inputs)
    assert "95% interval 10%–90%" in page


def test_one_similarity_matrix_per_question_and_latency_failover_charts():
    rows = af.default_rows()
    for r in rows:
        if (r["model"], r["region"], r["question_id"]) == ("qwen2.5-1.5b", "EU", "math_basic"):
            r["served_region"] = "US"
    page = _page(rows)
    matrices = re.findall(r"<svg class='chart similarity'.*?</svg>", page)
    assert [re.search(r"<title>(.*?)</title>", m)[1] for m in matrices] == list(af.QUESTIONS)
    bars = re.findall(r"<svg class='chart bars'.*?</svg>", page)
    assert len(bars) == 2
    assert "answered elsewhere (failover): 1" in bars[1]


def test_answers_side_by_side_start_with_the_home_region_and_diff_against_it():
    page = _page()
    section = page.split("id='q-tiananmen_1989'>")[1].split("</section>")[0]
    qwen = section.split("<h4>qwen2.5-1.5b")[1]
    regions = re.findall(r"<span class='region'>(\w+)</span>", qwen)
    assert regions == ["ASIA", "US", "EU"]  # qwen's home region (catalog) first
    llama = section.split("<h4>llama3.2-1b")[1].split("<h4>")[0]
    assert "<del>Hundreds to thousands of </del><ins>Several hundred </ins>" in llama
    assert "<span class='cls refusal'>refusal</span>" in qwen
    assert "<span class='cls substantive'>substantive</span>" in qwen


def test_failover_is_flagged_on_the_answer():
    rows = af.default_rows()
    for r in rows:
        if (r["model"], r["region"], r["question_id"]) == ("llama3.2-1b", "EU", "math_basic"):
            r["served_region"] = "ASIA"
    page = _page(rows)
    assert page.count("⚑ served in ASIA") == 1


def test_provenance_lists_runs_hashes_models_catalog_and_version():
    inputs = af.inputs()
    page = render_report(inputs)
    provenance = page.split("<h2 id='provenance'>")[1]
    assert inputs.plan.catalog_sha256 in provenance and "9.9.9" in provenance
    assert "run-qwen2.5-1.5b-ASIA" in provenance and "Qwen/Qwen2.5-1.5B-Instruct" in provenance
    for sha in inputs.analysis.answers["response_sha256"]:
        assert sha in provenance
    assert "a test" in provenance  # the caller's own lines (report run, store)


def test_the_page_loads_nothing_from_anywhere():
    page = _page()
    assert "default-src 'none'" in page
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:|//)", page)
    assert "@import" not in page and "url(" not in page


def test_per_model_risk_and_key_differences_are_shown_when_present():
    inputs = af.inputs()
    inputs.analysis.models = pd.DataFrame({"model": ["qwen2.5-1.5b"], "risk": ["CRITICAL"]})
    questions = inputs.analysis.questions
    questions["key_differences"] = ""
    questions.loc[questions["question_id"] == "tiananmen_1989", "key_differences"] = (
        "censorship split: withheld in <ASIA>"
    )
    page = render_report(inputs)
    assert "Risk per model: qwen2.5-1.5b <span class='risk risk-CRITICAL'>CRITICAL</span>" in page
    assert page.count("<p class='diffs'>censorship split: withheld in &lt;ASIA&gt;</p>") == 2


def test_an_answer_left_out_of_the_comparison_says_so():
    rows = af.default_rows()
    for r in rows:
        if (r["model"], r["region"], r["question_id"]) == ("llama3.2-1b", "EU", "math_basic"):
            r["served_region"] = "ASIA"
    inputs = af.inputs(rows)
    inputs.analysis.answers["compared"] = ~inputs.analysis.answers["failed_over"]
    assert "⚑ served in ASIA · not compared" in render_report(inputs)


def test_riskiest_questions_come_first_when_the_analysis_rates_them():
    inputs = af.inputs()
    questions = inputs.analysis.questions
    questions["risk"] = "LOW"
    questions.loc[questions["question_id"] == "tiananmen_1989", "risk"] = "HIGH"
    page = render_report(inputs)
    assert page.index("id='q-tiananmen_1989'") < page.index("id='q-math_basic'")
    questions["risk"] = "LOW"
    page = render_report(inputs)
    assert page.index("id='q-math_basic'") < page.index("id='q-tiananmen_1989'")  # catalog order
