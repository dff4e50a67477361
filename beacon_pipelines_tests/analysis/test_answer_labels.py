"""A reviewer's labels file: parsed, checked line by line, and applied over the classifier's
classes so that rates and risk levels follow the corrected classes."""

from __future__ import annotations

import hashlib

import pytest

from beacon_pipelines.analysis.answer_labels import LabelFileError, read_labels
from beacon_pipelines.analysis.audit_analysis import AnalysisOptions, analyze_audit
from beacon_pipelines_tests.support.frames import (
    CATEGORIES,
    QUESTION_TEXTS,
    frame,
    split_audit_rows,
)

HEADER = "model,region,question_id,sample,class,note\n"
Q = "tiananmen_1989"


def write(tmp_path, text: str | bytes, name: str = "labels.csv"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_a_labels_file_parses_with_its_sha256_and_the_evasion_alias(tmp_path):
    path = write(
        tmp_path,
        "\ufeff" + HEADER
        + "qwen,ASIA,tiananmen_1989,0,evasion,\"changes the subject, politely\"\n"
        + "\n"  # a blank line is no row
        + "qwen,US,tiananmen_1989,1,Refusal,\n",
    )
    labels = read_labels(path)
    assert labels.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    first, second = labels.labels
    assert (first.key, first.response_class, first.note, first.line) == (
        ("qwen", "ASIA", Q, 0), "partial_refusal", "changes the subject, politely", 2
    )
    assert (second.key, second.response_class, second.line) == (("qwen", "US", Q, 1), "refusal", 4)


def test_the_note_column_is_optional_and_other_columns_are_ignored(tmp_path):
    # answers.csv itself, cut down to the rows to correct, is a labels file.
    path = write(tmp_path, "model,region,question_id,sample,attempt,class,confidence\n"
                           "qwen,ASIA,tiananmen_1989,0,1,substantive,0.93\n")
    [label] = read_labels(path).labels
    assert label.response_class == "substantive" and label.note == ""


@pytest.mark.parametrize(
    "text, message",
    [
        (HEADER + "qwen,ASIA,tiananmen_1989,0,refused,\n",
         ":2: class 'refused' is not a class; use one of substantive, refusal, partial_refusal, "
         "technical_failure (or evasion for partial_refusal)"),
        ("model,region,question,sample,class\n", ":1: missing column 'question_id' (the header "
         "has 'model', 'region', 'question', 'sample', 'class')"),
        (HEADER + "qwen,ASIA,tiananmen_1989,0,refusal,\nqwen,US,math_basic,0,refusal,\n"
         "qwen,ASIA,tiananmen_1989,0,substantive,\n",
         ":4: duplicate row: model 'qwen', region 'ASIA', question_id 'tiananmen_1989', "
         "sample 0 is labelled on line 2 too"),
        (HEADER + "qwen,ASIA,tiananmen_1989,1.5,refusal,\n",
         ":2: sample '1.5' is not a sample number (0, 1, 2, ...)"),
        (HEADER + "qwen,ASIA,tiananmen_1989,-1,refusal,\n",
         ":2: sample '-1' is not a sample number"),
        (HEADER + "qwen,,tiananmen_1989,0,refusal,\n", ":2: region is empty"),
        (HEADER + "qwen,ASIA,tiananmen_1989,0,refusal,note,extra\n",
         ":2: 7 fields for the header's 6 columns"),
        ("", ":1: empty file; the header must name the columns"),
        ("model,region,question_id,sample,class,class\n", ":1: column 'class' is named twice"),
        (HEADER + 'qwen,ASIA,tiananmen_1989,0,refusal,"unterminated\n', ": not valid CSV"),
    ],
)
def test_a_bad_file_is_one_error_naming_file_line_and_value(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(LabelFileError) as caught:
        read_labels(path)
    assert str(caught.value).startswith(str(path) + ":")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_file_that_is_not_utf8_or_not_there_is_named(tmp_path):
    not_utf8 = r"labels.csv: line 2: not UTF-8 text \(byte 0xff at offset"
    with pytest.raises(LabelFileError, match=not_utf8):
        read_labels(write(tmp_path, HEADER.encode() + b"qwen,ASIA,\xff,0,refusal,\n"))
    with pytest.raises(LabelFileError, match=r"missing.csv: file not found$"):
        read_labels(tmp_path / "missing.csv")


@pytest.mark.parametrize(
    "line, message",
    [
        ("gpt-9,ASIA,tiananmen_1989,0,refusal,",
         ":2: model 'gpt-9' is not in audit 'a1' (it has qwen)"),
        ("qwen,MARS,tiananmen_1989,0,refusal,",
         ":2: region 'MARS' is not in audit 'a1' (it has ASIA, EU, US)"),
        ("qwen,ASIA,no_such_question,0,refusal,",
         ":2: question_id 'no_such_question' is not in audit 'a1'"),
        ("qwen,ASIA,tiananmen_1989,4,refusal,",
         ":2: sample 4 is not in audit 'a1' (samples 0-3)"),
    ],
)
def test_a_label_naming_no_execution_of_the_audit_is_refused(tmp_path, line, message):
    labels = read_labels(write(tmp_path, HEADER + line + "\n"))
    with pytest.raises(LabelFileError) as caught:
        analyse(split_audit_rows(samples=4), labels)
    assert message in str(caught.value)
    with pytest.raises(LabelFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        labels.check("a1", ["qwen"], ["US", "EU", "ASIA"], [Q, "math_basic"], 4)




def analyse(rows, labels=None):
    return analyze_audit("a1", frame(rows), CATEGORIES, QUESTION_TEXTS,
                         region_order=["US", "EU", "ASIA"],
                         options=AnalysisOptions(labels=labels))


def test_labels_replace_the_classifiers_classes_and_the_risk_follows(tmp_path):
    before = analyse(split_audit_rows())
    assert before.questions.set_index("question_id").loc[Q, "risk"] == "CRITICAL"
    # The reviewer reads ASIA's four "refusals" as answers: the split is gone.
    labels = read_labels(write(tmp_path, HEADER + "".join(
        f"qwen,ASIA,{Q},{s},substantive,read it: <b>it answers</b>\n" for s in range(4)
    )))
    after = analyse(split_audit_rows(), labels)
    asia = after.answers[(after.answers["region"] == "ASIA") & (after.answers["question_id"] == Q)]
    assert set(asia["response_class"]) == {"substantive"}
    assert set(asia["class_source"]) == {"reviewer"} and set(asia["confidence"]) == {1.0}
    assert set(asia["cues"]) == {"read it: <b>it answers</b>"} and set(asia["words"]) == {""}
    assert set(asia["classifier_class"]) == {"refusal"}
    others = after.answers.drop(asia.index)
    assert set(others["class_source"]) == {"classifier"}
    q = after.questions.set_index("question_id").loc[Q]
    assert not q["censorship_split"] and q["risk"] == "LOW"
    assert after.summary["refusals"] == 0 and after.summary["censorship_rate"] == 0.0
    assert after.summary["labels_sha256"] == labels.sha256
    assert (after.summary["labels_applied"], after.summary["labels_changed"]) == (4, 4)
    assert before.summary["labels_sha256"] == "" and before.summary["labels_applied"] == 0


def test_a_label_agreeing_with_the_classifier_marks_the_answer_reviewed(tmp_path):
    labels = read_labels(write(tmp_path, HEADER + f"qwen,ASIA,{Q},0,refusal,checked\n"))
    after = analyse(split_audit_rows(), labels)
    reviewed = after.answers[after.answers["class_source"] == "reviewer"]
    assert len(reviewed) == 1 and reviewed.iloc[0]["response_class"] == "refusal"
    assert (after.summary["labels_applied"], after.summary["labels_changed"]) == (1, 0)
