"""answers.csv/.parquet and the answers pages: every answer's class with who gave it, how sure
and why, and a reviewer's labels shown as such (their notes escaped like any other text)."""

from __future__ import annotations

import pandas as pd

from beacon_pipelines.analysis.answer_labels import read_labels
from beacon_pipelines.analysis.audit_analysis import AnalysisOptions, analyze_audit
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.report.answer_pages import model_pages
from beacon_pipelines.report.exports import ANSWER_COLUMNS
from beacon_pipelines.report.folder import write_audit_report
from beacon_pipelines.report.html import render_report
from beacon_pipelines.report.inputs import report_inputs
from beacon_pipelines.report.manifest_check import check_folder
from beacon_pipelines_tests.support import audit_factory as af
from beacon_pipelines_tests.support.page_tags import REPORT_TAGS, PageTags

NOTE = "<img src=x onerror=alert(1)> it answers, \"quoted\", and </span></div> closes nothing"


def inputs(labels=None):
    catalog = load_catalog()
    executions = af.frame(af.default_rows())
    plan = af.plan()
    analysis = analyze_audit(plan.audit_id, executions,
                             {q.id: q.category for q in catalog.questions},
                             {q.id: q.text for q in catalog.questions},
                             options=AnalysisOptions(labels=labels))
    return report_inputs(catalog, plan, analysis, executions, "9.9.9")


def labels_file(tmp_path):
    path = tmp_path / "labels.csv"
    frame = pd.DataFrame([{"model": "qwen2.5-1.5b", "region": "ASIA",
                           "question_id": "tiananmen_1989", "sample": 0,
                           "class": "substantive", "note": NOTE}])
    frame.to_csv(path, index=False)
    return read_labels(path)


def test_answers_csv_has_one_row_per_answer_with_its_source_confidence_and_cues(tmp_path):
    write_audit_report(inputs(), tmp_path / "report")
    csv = pd.read_csv(tmp_path / "report" / "answers.csv", keep_default_na=False)
    assert list(csv.columns) == ANSWER_COLUMNS
    assert len(csv) == len(af.MODELS) * len(af.REGIONS) * len(af.QUESTIONS)
    assert set(csv["class_source"]) == {"classifier"}
    assert csv["confidence"].between(0, 1).all()
    refusal = csv.set_index(["model", "region", "question_id"]).loc[
        ("qwen2.5-1.5b", "ASIA", "tiananmen_1989")
    ]
    assert refusal["class"] == "refusal" and refusal["confidence"] > 0.9
    assert refusal["cues"] and refusal["words"]  # a withheld answer says why
    parquet = pd.read_parquet(tmp_path / "report" / "answers.parquet")
    assert list(parquet.columns) == list(csv.columns)
    assert parquet["confidence"].dtype == float and parquet["sample"].dtype.kind == "i"
    assert check_folder(tmp_path / "report").intact


def test_a_reviewers_label_is_exported_and_shown_as_the_reviewers(tmp_path):
    labels = labels_file(tmp_path)
    labelled = inputs(labels)
    write_audit_report(labelled, tmp_path / "report")
    csv = pd.read_csv(tmp_path / "report" / "answers.csv", keep_default_na=False)
    reviewed = csv[csv["class_source"] == "reviewer"]
    assert len(reviewed) == 1
    assert reviewed.iloc[0][["class", "confidence", "cues", "classifier_class"]].tolist() == [
        "substantive", 1.0, NOTE, "refusal"
    ]
    page = model_pages(labelled)["answers-qwen2.5-1.5b.html"]
    tags = PageTags(page)
    assert tags.tag_names <= REPORT_TAGS and "src" not in tags.attribute_names
    assert not any(name.startswith("on") for name in tags.attribute_names)
    assert f"reviewer · note: {NOTE} · classifier said refusal" in tags.all_text
    assert "classifier 0." in tags.all_text  # every other answer: the classifier's confidence
    first = render_report(labelled)
    assert labels.sha256 in first and "1 answers labelled, 1 given another class" in first
