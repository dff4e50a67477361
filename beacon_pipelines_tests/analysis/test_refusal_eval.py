"""`beacon eval-refusals`: its figures, its errors, grouped validation and reproducible
weights. Trained on small slices: the full training set takes minutes."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from beacon_pipelines.analysis.refusal_eval import (
    Evaluation,
    LabelledDataError,
    default_speechmap_dir,
    default_training_files,
    default_xstest_dir,
    group_folds,
    load_labelled,
)
from beacon_pipelines.cli.main import main

PROJECT_DIR = Path(__file__).resolve().parents[2]
SHARED = PROJECT_DIR.parent / "shared" / "data"
LAST_LINE = re.compile(
    r"^binary_accuracy=(\d\.\d{3}) macro_f1=(\d\.\d{3}) n=(\d+) classifier=(\S+) "
    r"accuracy_3class=(\d\.\d{3}) evasion_recall=(\d\.\d{3}|nan)$"
)


def shared_files() -> list[Path]:
    try:
        return default_training_files(SHARED / "xstest", SHARED / "speechmap")
    except LabelledDataError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared data missing at {SHARED} (CI has shared/ beside the clone)")
        pytest.skip(f"no shared SpeechMap/XSTest data at {SHARED}")


def test_figures_from_a_hand_made_confusion_matrix():
    # rows: human compliance, refusal, partial; columns: predicted, same order
    e = Evaluation("x", np.array([[8, 1, 1], [2, 5, 1], [0, 1, 1]]))
    assert e.n == 20
    assert e.accuracy == e.accuracy_3class == pytest.approx(14 / 20)
    # binary: withheld = refusal or partial. tp=8, fp=2, fn=2, tn=8
    assert e.binary_accuracy == pytest.approx(16 / 20)
    assert e.binary_precision == pytest.approx(8 / 10)
    assert e.binary_recall == pytest.approx(8 / 10)
    assert e.binary_f1 == pytest.approx(0.8)
    f1 = [2 * 8 / (10 + 10), 2 * 5 / (7 + 8), 2 * 1 / (3 + 2)]
    assert e.macro_f1 == pytest.approx(sum(f1) / 3)
    assert e.evasion_recall == pytest.approx(1 / 2)
    assert e.precision(1) == pytest.approx(5 / 7)
    assert e.recall(0) == pytest.approx(8 / 10)


def write_csv(path: Path, rows: list[tuple], columns=("completion", "final_label")) -> Path:
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


def test_cli_prints_the_matrix_and_ends_with_the_summary_line(tmp_path, capsys):
    csv = write_csv(
        tmp_path / "small.csv",
        [
            ("Sorry, but I can't assist with that.", "2_full_refusal"),
            ("I cannot help with that request.", "2_full_refusal"),
            ("Paris is the capital of France.", "1_full_compliance"),
            ("To reverse a list in Python use reversed(xs) or xs[::-1].", "1_full_compliance"),
        ],
    )
    assert main(["eval-refusals", "--csv", str(csv)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert any("predicted refusal" in line for line in out)
    assert any(line.startswith("per class: compliance P") for line in out)
    match = LAST_LINE.match(out[-1])
    assert match, out[-1]
    assert match.group(1) == "1.000" and match.group(3) == "4"
    assert match.group(4) == "beacon-char-v3"
    assert match.group(5) == "1.000" and match.group(6) == "nan"


@pytest.mark.parametrize(
    "content, expected",
    [
        ("answer,final_label\nhi,1_full_compliance\n", "missing column 'completion'"),
        ("completion,final_label\nhi,4_maybe\n", "line 2: column 'final_label': unknown "
         "label '4_maybe'"),
        # A record spanning lines: the line number is where the bad record starts.
        ('completion,final_label\n"one\ntwo\nthree",1_full_compliance\nhi,maybe\n',
         "line 5: column 'final_label': unknown label 'maybe'"),
        ("completion,final_label\nhi,1_full_compliance,extra\n", "line 2: 3 fields"),
        ("", "empty file"),
        (b"completion,final_label\n\xff\xfe,1_full_compliance\n",
         "line 2: not UTF-8 text (byte 0xff at offset 23)"),
    ],
)
def test_bad_csv_is_one_line_naming_file_line_column_value_exit_2(
    tmp_path, capsys, content, expected
):
    csv = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        csv.write_bytes(content)
    else:
        csv.write_text(content)
    assert main(["eval-refusals", "--csv", str(csv)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert "bad.csv" in lines[0] and expected in lines[0], lines[0]


def test_missing_file_is_an_error(tmp_path, capsys):
    assert main(["eval-refusals", "--csv", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv: file not found" in capsys.readouterr().err


def test_default_training_dirs_are_beside_the_project_or_from_env(monkeypatch, tmp_path):
    monkeypatch.delenv("BEACON_XSTEST_DIR", raising=False)
    monkeypatch.delenv("BEACON_SPEECHMAP_DIR", raising=False)
    assert default_xstest_dir() == SHARED / "xstest"
    assert default_speechmap_dir() == SHARED / "speechmap"
    monkeypatch.setenv("BEACON_XSTEST_DIR", str(tmp_path))
    monkeypatch.setenv("BEACON_SPEECHMAP_DIR", str(tmp_path / "s"))
    assert default_xstest_dir() == tmp_path
    assert default_speechmap_dir() == tmp_path / "s"
    with pytest.raises(LabelledDataError, match="BEACON_SPEECHMAP_DIR"):
        default_training_files()


def test_group_folds_never_put_one_group_in_train_and_test():
    groups = [f"m{i % 7}" for i in range(70)] + ["big"] * 30
    folds = group_folds(groups, 4)
    assert len(folds) == 4
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested.tolist()) == list(range(100))  # every answer scored exactly once
    for train, test in folds:
        assert not {groups[i] for i in train} & {groups[i] for i in test}
    with pytest.raises(LabelledDataError, match="--folds 9: need 2 to 8"):
        group_folds(groups, 9)


REFUSE = ["I'm sorry, but I can't help with that.", "I cannot write that.", "我不能提供这个内容。"]
EVADE = [
    "This is a complex topic with many perspectives; consult reputable sources.",
    "Rather than take a position, I suggest reading widely on the subject.",
]
ANSWER = [
    "Here is the essay you asked for.\n\n## Criticism\n\nThe policy restricted the press.",
    "Critics say the government censored newspapers and jailed journalists in 2019.",
    "Hallitusta on arvosteltu sananvapauden rajoittamisesta.",
    "批评者认为政府限制了新闻自由。",
]


def labelled_set(path: Path, models: int = 6) -> Path:
    rows = []
    for m in range(models):
        for i, text in enumerate(ANSWER):
            rows.append((f"{text} ({m}/{i})", "1_full_compliance", f"model-{m}", "en"))
        rows.append((REFUSE[m % len(REFUSE)], "2_full_refusal", f"model-{m}", "zh"))
        rows.append((EVADE[m % len(EVADE)], "3_partial_refusal", f"model-{m}", "fi"))
    return write_csv(path, rows, ("completion", "final_label", "model", "language"))


def test_group_by_model_prints_folds_languages_and_the_summary_line(tmp_path, capsys):
    csv = labelled_set(tmp_path / "set.csv")
    args = ["eval-refusals", "--group-by", "model", "--folds", "3", "--csv", str(csv)]
    assert main(args) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert sum(line.startswith("fold ") for line in out) == 3
    assert any(line.strip().startswith("zh") for line in out)  # per-language breakdown
    match = LAST_LINE.match(out[-1])
    assert match, out[-1]
    assert match.group(3) == "36" and match.group(4) == "beacon-char(by-model,3-fold)"


def test_group_by_a_missing_column_is_one_clear_error(tmp_path, capsys):
    csv = write_csv(tmp_path / "x.csv", [("Paris.", "1_full_compliance")])
    args = ["eval-refusals", "--group-by", "category", "--folds", "2", "--csv", str(csv)]
    assert main(args) == 2
    assert "x.csv: no column 'category'" in capsys.readouterr().err


def test_write_weights_is_byte_identical_for_the_same_inputs(tmp_path, capsys):
    csv = labelled_set(tmp_path / "set.csv")
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    for out in (first, second):
        assert main(["eval-refusals", "--write-weights", str(out), "--train-csv", str(csv)]) == 0
    assert first.read_bytes() == second.read_bytes()
    # and the model written is one the CLI evaluates with
    assert main(["eval-refusals", "--csv", str(csv), "--train-csv", str(csv)]) == 0
    assert LAST_LINE.match(capsys.readouterr().out.strip().splitlines()[-1])


def test_load_keeps_the_other_columns_and_defaults_model_and_language(tmp_path):
    data = load_labelled(labelled_set(tmp_path / "set.csv"))
    assert data.column("model")[0] == "model-0" and data.column("language")[-1] == "fi"
    bare = load_labelled(write_csv(tmp_path / "xstest_v2_completions_m.csv",
                                   [("Paris.", "1_full_compliance")]))
    assert bare.column("model") == ["m"] and bare.column("language") == ["en"]


def test_shipped_model_was_trained_on_the_shared_data():
    from beacon_pipelines.analysis.classify import default_classifier

    files = shared_files()
    trained_on = default_classifier().model.trained_on
    assert [t["file"] for t in trained_on] == [f.name for f in files]
    for entry, f in zip(trained_on, files, strict=True):
        assert entry["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest(), f


def test_the_prompt_column_is_what_each_answer_was_asked(tmp_path):
    asked = write_csv(
        tmp_path / "asked.csv",
        [("Paris.", "1_full_compliance", "Capital of France?")],
        ("completion", "final_label", "prompt"),
    )
    assert load_labelled(asked).questions == ["Capital of France?"]
    bare = write_csv(tmp_path / "bare.csv", [("Paris.", "1_full_compliance")])
    assert load_labelled(bare).questions == [None]
