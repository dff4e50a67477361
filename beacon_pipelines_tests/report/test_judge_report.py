"""An audit analysed with an LLM judge: answers.csv/.parquet carry the judge's class, reason and
status; the report shows the judge, its agreement with the classifier and the answers they
disagree on first; the answer pages show what the judge said. The judge's reason is model text:
escaped in pages, formula-quoted in the CSV. Without a judge, nothing of it appears."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from beacon_pipelines.analysis.audit_analysis import AnalysisOptions, analyze_audit
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.execution import run_partition
from beacon_pipelines.plan import AuditPlan
from beacon_pipelines.report.answer_pages import model_pages
from beacon_pipelines.report.exports import ANSWER_COLUMNS, FORMULA_PREFIX
from beacon_pipelines.report.folder import write_audit_report
from beacon_pipelines.report.html import render_report
from beacon_pipelines.report.inputs import report_inputs
from beacon_pipelines.report.manifest import MANIFEST_NAME
from beacon_pipelines.report.manifest_check import check_folder
from beacon_pipelines.report.stored_audit import analyse_stored_audit
from beacon_pipelines.report.summary_markdown import summary_markdown
from beacon_pipelines_tests.support import audit_factory as af
from beacon_pipelines_tests.support.judgements import (
    JUDGE_MODEL,
    JUDGE_PROMPT_SHA256,
    judge_failed,
    judged,
    judgements,
)
from beacon_pipelines_tests.support.page_tags import REPORT_TAGS, PageTags

# Starts like a spreadsheet formula, and holds markup that must stay text.
REASON = ("=HYPERLINK(\"http://evil.example\") <img src=x onerror=alert(1)></td></table>"
          "<script>alert(1)</script> hedges")
MATH = "The answer is 4."
CATALOG = load_catalog()


def judge_frame():
    return judgements(
        judged(MATH, "substantive", "gives the sum"),
        judged(af.REFUSAL, "refusal", "declines"),
        judged(af.TIANANMEN_US, "partial_refusal", REASON),  # the classifier: substantive
        judge_failed(af.TIANANMEN_EU),
    )


def inputs(judgement_frame=None):
    executions = af.frame(af.default_rows())
    plan = af.plan()
    analysis = analyze_audit(plan.audit_id, executions,
                             {q.id: q.category for q in CATALOG.questions},
                             {q.id: q.text for q in CATALOG.questions},
                             options=AnalysisOptions(judgements=judgement_frame))
    return report_inputs(CATALOG, plan, analysis, executions, "9.9.9")


def assert_inert(page: str) -> PageTags:
    tags = PageTags(page)
    assert tags.tag_names <= REPORT_TAGS
    assert "src" not in tags.attribute_names
    assert not any(name.startswith("on") for name in tags.attribute_names)
    return tags


def test_the_summary_measures_the_judge_against_the_classifier():
    judge = inputs(judge_frame()).analysis.summary["judge"]
    # Judged: 6 math answers and 1 refusal (agreed), 3 TIANANMEN_US answers (llama US and ASIA,
    # qwen US: substantive to the classifier, partial to the judge); failed: 2 TIANANMEN_EU.
    assert (judge["judged"], judge["failed"], judge["disagreements"]) == (10, 2, 3)
    assert judge["confusion"]["matrix"] == [[6, 0, 3], [0, 1, 0], [0, 0, 0]]
    # p_o = 7/10; classifier S 9, R 1; judge S 6, R 1, P 3: p_e = (54 + 1) / 100 = 0.55.
    assert judge["kappa"] == pytest.approx((0.7 - 0.55) / (1 - 0.55))
    assert (judge["model"], judge["prompt_sha256"]) == (JUDGE_MODEL, JUDGE_PROMPT_SHA256)


def test_answers_csv_and_parquet_carry_the_judges_columns_with_the_reason_quoted(tmp_path):
    write_audit_report(inputs(judge_frame()), tmp_path / "report")
    csv = pd.read_csv(tmp_path / "report" / "answers.csv", keep_default_na=False)
    assert list(csv.columns) == ANSWER_COLUMNS
    assert {"judge_class", "judge_reason", "judge_status"} <= set(csv.columns)
    key = csv.set_index(["model", "region", "question_id"])
    us = key.loc[("llama3.2-1b", "US", "tiananmen_1989")]
    assert us[["class", "class_source", "classifier_class", "judge_class", "judge_status"]] \
        .tolist() == ["partial_refusal", "judge", "substantive", "partial_refusal", "judged"]
    # A spreadsheet shows the reason; it never runs it.
    assert us["judge_reason"] == FORMULA_PREFIX + REASON
    eu = key.loc[("llama3.2-1b", "EU", "tiananmen_1989")]
    assert eu[["class", "class_source", "judge_class", "judge_status"]].tolist() == [
        "substantive", "classifier", "", "judge_failed"
    ]
    parquet = pd.read_parquet(tmp_path / "report" / "answers.parquet")
    assert list(parquet.columns) == list(csv.columns)
    exact = parquet.set_index(["model", "region", "question_id"])
    assert exact.loc[("llama3.2-1b", "US", "tiananmen_1989"), "judge_reason"] == REASON
    manifest = json.loads((tmp_path / "report" / MANIFEST_NAME).read_text())
    assert manifest["judge"] == {"model": JUDGE_MODEL, "prompt_sha256": JUDGE_PROMPT_SHA256,
                                 "judged": 10, "failed": 2}
    assert check_folder(tmp_path / "report").intact


def test_the_report_lists_the_disagreements_first_with_the_judge_and_its_agreement():
    page = render_report(inputs(judge_frame()))
    tags = assert_inert(page)
    assert "<script>" not in page and "<img" not in page
    # Before the riskiest questions, for a reviewer.
    assert page.index("id='judge'") < page.index("id='riskiest'") < page.index("id='charts'")
    section = page[page.index("id='judge'"):page.index("id='riskiest'")]
    assert JUDGE_MODEL in section and JUDGE_PROMPT_SHA256 in section
    assert "Cohen's kappa: <b>0.33</b>" in section.replace("&#x27;", "'")
    disagreeing = section[section.index("id='judge-disagreements'"):
                          section.index("id='judge-confusion'")]
    links = [a["href"] for t, a in PageTags(disagreeing).tags if t == "a"]
    assert sorted(links) == ["answers-llama3.2-1b.html#q-tiananmen_1989"] * 2 + [
        "answers-qwen2.5-1.5b.html#q-tiananmen_1989"]
    text = PageTags(disagreeing).all_text
    assert text.count(REASON) == 3  # shown as text, whole
    confusion = PageTags(section[section.index("id='judge-confusion'"):]).all_text
    # Rows: the classifier's substantive, refusal, partial; columns: the judge's.
    assert "judge: substantivejudge: refusaljudge: partial" in confusion
    assert "substantive603refusal010partial000" in confusion
    assert JUDGE_MODEL in tags.all_text and JUDGE_PROMPT_SHA256 in tags.all_text  # provenance
    assert "<a href='#judge'>judge</a>" in page


def test_the_answer_pages_show_the_judges_class_and_reason_beside_each_answer():
    pages = model_pages(inputs(judge_frame()))
    llama = assert_inert(pages["answers-llama3.2-1b.html"]).all_text
    assert f"judge: partial · {REASON}" in llama
    assert "judge · classifier said substantive" in llama
    assert "judge failed: the classifier's class stands" in llama
    assert "judge: substantive · gives the sum" in llama
    qwen = assert_inert(pages["answers-qwen2.5-1.5b.html"]).all_text
    assert "judge: refusal · declines" in qwen and "judge · the classifier agrees" in qwen


def test_the_summary_markdown_names_the_judge_and_its_kappa():
    markdown = summary_markdown(inputs(judge_frame()).analysis)
    assert f"LLM judge {JUDGE_MODEL} (prompt sha256 {JUDGE_PROMPT_SHA256[:12]}…)" in markdown
    assert "10 answers judged, 2 failed; Cohen's kappa with the classifier 0.33, 3 " \
        "disagreements" in markdown


def test_a_kappa_that_is_undefined_says_so_in_the_report():
    only_math = judgements(judged(MATH, "substantive"))
    report = inputs(only_math)
    assert report.analysis.summary["judge"]["kappa"] is None
    section = render_report(report)
    assert "undefined: the judge and the classifier gave all 6 answers one class" in section
    assert "None: wherever the judge judged, it gave the classifier" in section
    assert "undefined, 0 disagreements" in summary_markdown(report.analysis)


def test_without_a_judge_the_report_is_as_before(tmp_path):
    plain, empty = inputs(), inputs(judgements())
    assert render_report(plain) == render_report(empty)
    assert model_pages(plain) == model_pages(empty)
    page = render_report(plain)
    assert "judge" not in page
    assert all("judge" not in p for p in model_pages(plain).values())
    assert "judge" not in summary_markdown(plain.analysis)
    write_audit_report(plain, tmp_path / "report")
    csv = pd.read_csv(tmp_path / "report" / "answers.csv", keep_default_na=False)
    for column in ("judge_class", "judge_reason", "judge_status"):
        assert set(csv[column]) == {""}
    assert set(csv["class_source"]) == {"classifier"}
    assert "judge" not in json.loads((tmp_path / "report" / MANIFEST_NAME).read_text())


def test_a_stored_audit_is_analysed_with_the_judgements_given(store):
    plan = store.register_audit(AuditPlan(
        audit_id="judged", catalog_sha256=CATALOG.sha256(), backend="simulated",
        models=("llama3.2-1b",), regions=("US", "EU"), questions=("math_basic",),
        created_at=1.0,
    ))
    from beacon_pipelines.backends.simulated import SimulatedBackend

    for region in plan.regions:
        run_partition(store, SimulatedBackend(), CATALOG, plan, "llama3.2-1b", region)
    executions = store.executions_frame(plan.audit_id)
    shas = sorted(set(executions["response_sha256"]))
    frame = judgements(*[{**judged("", "refusal"), "response_sha256": s} for s in shas])
    analysed = analyse_stored_audit(store, plan, CATALOG, judgements=frame)
    answers = analysed.analysis.answers
    assert set(answers["class_source"]) == {"judge"} and set(answers["response_class"]) == {
        "refusal"}
    assert analysed.analysis.summary["judge"]["judged"] == len(answers) == 2
    plain = analyse_stored_audit(store, plan, CATALOG)
    assert "judge" not in plain.analysis.summary


def test_a_long_list_of_disagreements_is_cut_and_says_where_the_rest_are(monkeypatch):
    from beacon_pipelines.report import judge_section

    monkeypatch.setattr(judge_section, "MAX_DISAGREEMENT_ROWS", 1)
    page = render_report(inputs(judge_frame()))
    disagreeing = page[page.index("id='judge-disagreements'"):page.index("id='judge-confusion'")]
    assert disagreeing.count("<a href=") == 1
    assert "2 more rows in answers.csv" in disagreeing
