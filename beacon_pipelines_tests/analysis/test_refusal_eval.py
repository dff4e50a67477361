"""`beacon eval-refusals`: its figures, its errors, and the leave-one-out protocol."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from beacon_pipelines.analysis.refusal_eval import Evaluation, default_xstest_dir
from beacon_pipelines.cli.main import main

PROJECT_DIR = Path(__file__).resolve().parents[2]
XSTEST = PROJECT_DIR.parent / "shared" / "data" / "xstest"
LAST_LINE = re.compile(
    r"^binary_accuracy=(\d\.\d{3}) macro_f1=(\d\.\d{3}) n=(\d+) classifier=(\S+)$"
)


def xstest_files() -> list[Path]:
    files = sorted(XSTEST.glob("xstest_v2_completions_*.csv"))
    if not files:
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared XSTest data missing at {XSTEST} (CI has shared/ beside the clone)")
        pytest.skip(f"no shared XSTest data at {XSTEST}")
    return files


def test_figures_from_a_hand_made_confusion_matrix():
    # rows: human compliance, refusal, partial; columns: predicted, same order
    e = Evaluation("x", np.array([[8, 1, 1], [2, 5, 1], [0, 1, 1]]))
    assert e.n == 20
    assert e.accuracy == pytest.approx(14 / 20)
    # binary: withheld = refusal or partial. tp=8, fp=2, fn=2, tn=8
    assert e.binary_accuracy == pytest.approx(16 / 20)
    assert e.binary_precision == pytest.approx(8 / 10)
    assert e.binary_recall == pytest.approx(8 / 10)
    assert e.binary_f1 == pytest.approx(0.8)
    f1 = [2 * 8 / (10 + 10), 2 * 5 / (7 + 8), 2 * 1 / (3 + 2)]
    assert e.macro_f1 == pytest.approx(sum(f1) / 3)


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    pd.DataFrame(rows, columns=["completion", "final_label"]).to_csv(path, index=False)
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
    match = LAST_LINE.match(out[-1])
    assert match, out[-1]
    assert match.group(1) == "1.000" and match.group(3) == "4"
    assert match.group(4) == "beacon-linear-xstest-v1"


@pytest.mark.parametrize(
    "rows, columns, expected",
    [
        ([("hi", "1_full_compliance")], ["answer", "final_label"], "missing column 'completion'"),
        ([("hi", "4_maybe")], ["completion", "final_label"], "row 2: unknown label '4_maybe'"),
    ],
)
def test_bad_csv_is_one_line_naming_file_column_value_exit_2(
    tmp_path, capsys, rows, columns, expected
):
    csv = tmp_path / "bad.csv"
    pd.DataFrame(rows, columns=columns).to_csv(csv, index=False)
    assert main(["eval-refusals", "--csv", str(csv)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert "bad.csv" in lines[0] and expected in lines[0]


def test_missing_file_is_an_error(tmp_path, capsys):
    assert main(["eval-refusals", "--csv", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv: no such file" in capsys.readouterr().err


def test_default_training_dir_is_beside_the_project_or_from_env(monkeypatch, tmp_path):
    monkeypatch.delenv("BEACON_XSTEST_DIR", raising=False)
    assert default_xstest_dir() == XSTEST
    monkeypatch.setenv("BEACON_XSTEST_DIR", str(tmp_path))
    assert default_xstest_dir() == tmp_path


def test_leave_one_out_beats_the_published_baselines_on_every_file(capsys):
    """Each file scored by a classifier trained on the other two: all must beat XSTest's
    string matcher (0.884) and GPT-4 as judge (0.821)."""
    files = xstest_files()
    args = ["eval-refusals", "--leave-one-out"]
    for f in files:
        args += ["--csv", str(f)]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    per_file = [m for m in map(LAST_LINE.match, lines) if m][:-1]
    assert len(per_file) == len(files) == 3
    for match, f in zip(per_file, files, strict=True):
        assert float(match.group(1)) > 0.884, f
        # Trained without the evaluated file: its name is not in the classifier's.
        held_out = f.stem.removeprefix("xstest_v2_completions_")
        assert held_out not in match.group(4)


def test_write_weights_then_evaluate_with_them(tmp_path, capsys):
    files = xstest_files()
    out = tmp_path / "weights.json"
    args = ["eval-refusals", "--write-weights", str(out), "--train-csv", str(files[0])]
    assert main(args) == 0
    assert out.exists() and files[0].name in out.read_text()


def test_shipped_weights_are_what_the_shared_data_trains():
    import json

    from beacon_pipelines.analysis.classify import SHIPPED_WEIGHTS
    from beacon_pipelines.analysis.refusal_eval import train_classifier

    trained = train_classifier(xstest_files(), name="beacon-linear-xstest-v1")
    # Through JSON both ways, as the shipped file was written.
    assert json.loads(json.dumps(trained.model.to_json())) == json.loads(
        SHIPPED_WEIGHTS.read_text()
    )
