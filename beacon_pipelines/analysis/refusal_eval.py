"""Measure the refusal classifier on human-labelled answers (XSTest-format CSVs).

A CSV needs a `completion` column (the answer) and a `final_label` column with
1_full_compliance, 2_full_refusal or 3_partial_refusal. Binary figures count a refusal or a
partial refusal as "withheld", as XSTest's published baselines do.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from beacon_pipelines.analysis.classify import ResponseClass, ResponseClassifier
from beacon_pipelines.analysis.refusal_model import CLASSES, TrainingConfig, train

LABELS = {"1_full_compliance": 0, "2_full_refusal": 1, "3_partial_refusal": 2}
REQUIRED_COLUMNS = ("completion", "final_label")
XSTEST_ENV_VAR = "BEACON_XSTEST_DIR"
COMPLETIONS_GLOB = "xstest_v2_completions_*.csv"
# Published on all five XSTest v2 models (binary refusal vs compliance).
BASELINES = {"xstest_string_match": 0.884, "gpt4_judge": 0.821}


class LabelledDataError(ValueError):
    """A CSV that cannot be evaluated; the message names the file, column and value."""


@dataclass
class LabelledAnswers:
    path: Path
    texts: list[str]
    labels: list[int]  # positions in CLASSES

    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def load_labelled(path: Path) -> LabelledAnswers:
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise LabelledDataError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise LabelledDataError(f"{path}: not a readable CSV ({exc})") from None
    for column in REQUIRED_COLUMNS:
        if column not in frame.columns:
            raise LabelledDataError(
                f"{path}: missing column {column!r} (has: {', '.join(frame.columns)})"
            )
    labels = frame["final_label"].str.strip()
    unknown = ~labels.isin(list(LABELS))
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise LabelledDataError(
            f"{path}: column 'final_label' row {row + 2}: unknown label {labels.iloc[row]!r} "
            f"(expected one of {', '.join(LABELS)})"
        )
    return LabelledAnswers(path, frame["completion"].tolist(), labels.map(LABELS).tolist())


def default_xstest_dir(project_dir: Path | None = None) -> Path:
    """BEACON_XSTEST_DIR, else ../shared/data/xstest beside the project."""
    if os.environ.get(XSTEST_ENV_VAR):
        return Path(os.environ[XSTEST_ENV_VAR])
    project = project_dir or Path(__file__).resolve().parents[2]
    return project.parent / "shared" / "data" / "xstest"


def default_training_files(directory: Path | None = None) -> list[Path]:
    directory = directory or default_xstest_dir()
    files = sorted(Path(directory).glob(COMPLETIONS_GLOB))
    if not files:
        raise LabelledDataError(
            f"{directory}: no {COMPLETIONS_GLOB} files (set {XSTEST_ENV_VAR} or pass --train-csv)"
        )
    return files


def train_classifier(
    files: Sequence[Path], config: TrainingConfig | None = None, name: str | None = None
) -> ResponseClassifier:
    data = [load_labelled(f) for f in files]
    texts = [t for d in data for t in d.texts]
    labels = [y for d in data for y in d.labels]
    trained_on = [{"file": d.path.name, "sha256": d.sha256(), "n": len(d.texts)} for d in data]
    label = name or "beacon-linear(" + "+".join(_short(d.path) for d in data) + ")"
    return ResponseClassifier(train(texts, labels, label, config, trained_on))


def _short(path: Path) -> str:
    return path.stem.removeprefix("xstest_v2_completions_")


@dataclass
class Evaluation:
    classifier: str
    confusion: np.ndarray  # rows: human label, columns: predicted (CLASSES order)

    @property
    def n(self) -> int:
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / self.n) if self.n else 0.0

    def _binary(self) -> tuple[int, int, int, int]:
        c = self.confusion
        tp = int(c[1:, 1:].sum())
        fp = int(c[0, 1:].sum())
        fn = int(c[1:, 0].sum())
        tn = int(c[0, 0])
        return tp, fp, fn, tn

    @property
    def binary_accuracy(self) -> float:
        tp, fp, fn, tn = self._binary()
        return (tp + tn) / self.n if self.n else 0.0

    @property
    def binary_precision(self) -> float:
        tp, fp, _, _ = self._binary()
        return tp / (tp + fp) if tp + fp else 0.0

    @property
    def binary_recall(self) -> float:
        tp, _, fn, _ = self._binary()
        return tp / (tp + fn) if tp + fn else 0.0

    @property
    def binary_f1(self) -> float:
        p, r = self.binary_precision, self.binary_recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def macro_f1(self) -> float:
        """Mean F1 of the three classes (a class absent from labels and predictions is skipped)."""
        scores = []
        for k in range(len(CLASSES)):
            tp = self.confusion[k, k]
            predicted, actual = self.confusion[:, k].sum(), self.confusion[k, :].sum()
            if predicted + actual == 0:
                continue
            scores.append(2 * tp / (predicted + actual))
        return float(np.mean(scores)) if scores else 0.0


def evaluate(
    classifier: ResponseClassifier, texts: Sequence[str], labels: Sequence[int]
) -> Evaluation:
    predicted = classifier.classify(list(texts))
    index = {c.value: i for i, c in enumerate(CLASSES_AS_RESPONSE)}
    confusion = np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64)
    for y, p in zip(labels, predicted, strict=True):
        # An empty human-labelled answer is scored as a compliance the classifier missed.
        confusion[y, index.get(p.value, 0)] += 1
    return Evaluation(classifier.name, confusion)


CLASSES_AS_RESPONSE = (
    ResponseClass.SUBSTANTIVE,
    ResponseClass.REFUSAL,
    ResponseClass.PARTIAL_REFUSAL,
)


def format_evaluation(evaluation: Evaluation, title: str) -> str:
    names = ["compliance", "refusal", "partial"]
    frame = pd.DataFrame(
        evaluation.confusion,
        index=[f"human {n}" for n in names],
        columns=[f"predicted {n}" for n in names],
    )
    e = evaluation
    return "\n".join(
        [
            f"== {title} (n={e.n}, classifier {e.classifier})",
            frame.to_string(),
            f"3-class accuracy {e.accuracy:.3f}, macro F1 {e.macro_f1:.3f}",
            f"binary (refusal or partial vs compliance): accuracy {e.binary_accuracy:.3f}, "
            f"precision {e.binary_precision:.3f}, recall {e.binary_recall:.3f}, "
            f"F1 {e.binary_f1:.3f}",
        ]
    )


def summary_line(evaluation: Evaluation) -> str:
    e = evaluation
    return (
        f"binary_accuracy={e.binary_accuracy:.3f} macro_f1={e.macro_f1:.3f} n={e.n} "
        f"classifier={e.classifier}"
    )


def pooled(evaluations: Sequence[Evaluation], name: str) -> Evaluation:
    return Evaluation(name, sum((e.confusion for e in evaluations), np.zeros((3, 3), np.int64)))
