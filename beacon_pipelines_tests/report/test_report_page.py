"""What a reader finds in report.html (headline, censorship with intervals, riskiest questions,
charts, provenance) and in each model's answers page (answers side by side, diffed)."""

from __future__ import annotations

import re

import pandas as pd

from beacon_pipelines.report.answer_pages import render_model_page
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


def test_one_pair_chart_per_question_without_halves_or_diagonals_and_no_simulated_latency():
    rows = af.default_rows()
    for r in rows:
        if (r["model"], r["region"], r["question_id"]) == ("qwen2.5-1.5b", "EU", "math_basic"):
            r["served_region"] = "US"
    page = _page(rows)
    charts = re.findall(r"<svg class='chart similarity'.*?</svg>", page)
    assert [re.search(r"<title>(.*?)</title>", m)[1] for m in charts] == list(af.QUESTIONS)
    rows_of_first = re.findall(r"text-anchor='end'>([^<]+)</text>", charts[0])
    assert rows_of_first == ["US–EU", "US–ASIA", "EU–ASIA"]  # each pair once, catalog order
    bars = re.findall(r"<svg class='chart bars'.*?</svg>", page)
    assert len(bars) == 1 and "answered elsewhere (failover): 1" in bars[0]
    assert "No latency chart: the answers came from the simulated backend" in page


def test_real_backends_get_p50_and_p95_latency_per_region():
    rows = [{**r, "simulated": False, "backend": "modal"} for r in af.default_rows()]
    page = _page(rows, backend="modal")
    latency = re.findall(r"<svg class='chart bars'.*?</svg>", page)[0]
    assert "Latency per serving region" in latency and "p50: 500 ms" in latency
    assert "p95: 500 ms" in latency


def test_the_first_picture_is_censorship_per_model_and_region_with_intervals():
    page = _page()
    first_svg = re.search(r"<svg class='([^']+)'", page)[1]
    assert first_svg == "chart intervals"
    chart = re.search(r"<svg class='chart intervals'.*?</svg>", page)[0]
    text = PageTags(chart).all_text
    assert "qwen2.5-1.5b in ASIA: 50% (1/2), 95% interval 9%–91%" in text
    # Regions in the catalog's order for every model, the home region marked, not moved.
    labels = re.findall(r"text-anchor='end'(?: font-weight='700')?>([^<]+)</text>", chart)
    assert labels == ["US ⌂", "EU", "ASIA", "US", "EU", "ASIA ⌂"]


def _model_page(rows=None, model="qwen2.5-1.5b"):
    return render_model_page(af.inputs(rows), model)


def test_answers_stand_in_catalog_order_with_the_home_region_marked_and_diffed_against():
    page = _model_page()
    section = page.split("id='q-tiananmen_1989'>")[1].split("</section>")[0]
    regions = re.findall(r"<span class='region'>(\w+)</span>", section)
    assert regions == ["US", "EU", "ASIA"]  # the catalog's order; qwen's home is ASIA
    assert "<span class='region'>ASIA</span><span class='home'>⌂ home region</span>" in section
    assert "<span class='cls refusal'>refusal</span>" in section
    llama_page = _model_page(model="llama3.2-1b")
    llama = llama_page.split("id='q-tiananmen_1989'>")[1]
    assert "<del>Hundreds to thousands of </del><ins>Several hundred </ins>" in llama
    # The card's likeness is the analysis' similarity, named as in the charts' legend.
    inputs = af.inputs()
    pairs = inputs.analysis.pairs
    value = pairs[(pairs["model"] == "llama3.2-1b") & (pairs["question_id"] == "tiananmen_1989")
                  & pairs["region_a"].isin(["US", "EU"]) & pairs["region_b"].isin(["US", "EU"])
                  ]["similarity"]
    assert f"similarity {float(value.iloc[0]):.2f} to US" in llama
    assert "tfidf-cosine" in llama_page and "tfidf-cosine" in render_report(inputs)
    assert "words only in this answer are highlighted, words only in the home answer are " \
        "struck through" in llama_page


def test_failover_is_flagged_on_the_answer():
    rows = af.default_rows()
    for r in rows:
        if (r["model"], r["region"], r["question_id"]) == ("llama3.2-1b", "EU", "math_basic"):
            r["served_region"] = "ASIA"
    assert _model_page(rows, "llama3.2-1b").count("⚑ served in ASIA · not compared") == 1


def test_provenance_lists_runs_models_catalog_and_version_and_model_pages_the_hashes():
    inputs = af.inputs()
    page = render_report(inputs)
    provenance = page.split("<h2 id='provenance'>")[1]
    assert inputs.plan.catalog_sha256 in provenance and "9.9.9" in provenance
    assert "run-qwen2.5-1.5b-ASIA" in provenance and "Qwen/Qwen2.5-1.5B-Instruct" in provenance
    assert "a test" in provenance  # the caller's own lines (report run, store)
    pages = "".join(render_model_page(inputs, m) for m in af.MODELS)
    for sha in inputs.analysis.answers["response_sha256"]:
        assert sha in pages


def test_the_page_loads_nothing_from_anywhere():
    page = _page()
    assert "default-src 'none'" in page
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:|//)", page)
    assert "@import" not in page and "url(" not in page


def test_each_level_links_to_the_answers_behind_it():
    inputs = af.inputs()
    inputs.analysis.models = pd.DataFrame({"model": ["qwen2.5-1.5b"], "risk": ["CRITICAL"]})
    questions = inputs.analysis.questions
    questions["key_differences"] = ""
    questions.loc[questions["question_id"] == "tiananmen_1989", "key_differences"] = (
        "censorship split: withheld in <ASIA>"
    )
    page = render_report(inputs)
    assert ("Risk per model (each links to its answers): qwen2.5-1.5b <a class='risklink' "
            "href='answers-qwen2.5-1.5b.html'><span class='risk risk-CRITICAL'>CRITICAL</span>"
            ) in page
    riskiest = page.split("<h2 id='riskiest'>")[1].split("<h2")[0]
    assert "href='answers-qwen2.5-1.5b.html#q-tiananmen_1989'" in riskiest
    assert "censorship split: withheld in &lt;ASIA&gt;" in riskiest
    assert "<p class='diffs'>censorship split: withheld in &lt;ASIA&gt;</p>" in (
        render_model_page(inputs, "qwen2.5-1.5b"))


def test_one_sample_per_region_reads_insufficient_evidence_with_the_samples_needed():
    page = _page()  # the factory's audit asks each question once
    assert "<span class='risk risk-INSUFFICIENT_EVIDENCE'" in page
    assert "insufficient evidence</span></a> <span class='muted'>(4 samples per region would " \
        "decide it)" in page


def test_what_a_reader_sees_first_is_the_verdict_then_censorship_then_the_riskiest():
    page = _page()
    order = [page.index(marker) for marker in (
        "overall risk", "Risk per model", "class='chart intervals'", "id='findings'",
        "id='riskiest'", "id='charts'", "id='answers'", "id='provenance'")]
    assert order == sorted(order)


def test_riskiest_questions_come_first_when_the_analysis_rates_them():
    inputs = af.inputs()
    questions = inputs.analysis.questions
    questions["risk"] = "LOW"
    questions.loc[questions["question_id"] == "tiananmen_1989", "risk"] = "HIGH"
    page = render_model_page(inputs, "llama3.2-1b")
    assert page.index("id='q-tiananmen_1989'") < page.index("id='q-math_basic'")
    questions["risk"] = "LOW"
    page = render_model_page(inputs, "llama3.2-1b")
    assert page.index("id='q-math_basic'") < page.index("id='q-tiananmen_1989'")  # catalog order
