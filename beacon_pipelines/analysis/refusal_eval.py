"""Train and measure the refusal classifier on labelled answers (XSTest-format CSVs: XSTest's
human labels, SpeechMap's judged answers).

A CSV needs a `completion` column (the answer) and a `final_label` column with
1_full_compliance, 2_full_refusal or 3_partial_refusal (SpeechMap's COMPLETE, DENIAL,
EVASIVE); `model` and `language` columns are used when present. Binary figures count a refusal
or a partial refusal as "withheld", as XSTest's published baselines do. Validation holds out
whole models (GroupKFold), never random rows: answers of one model share its wording.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from beacon_pipelines.analysis.classify import ResponseClass, ResponseClassifier
from beacon_pipelines.analysis.refusal_model import CLASSES, TrainingConfig, train
from beacon_pipelines.analysis.utf8_file import read_utf8_text

LABELS = {"1_full_compliance": 0, "2_full_refusal": 1, "3_partial_refusal": 2}
REQUIRED_COLUMNS = ("completion", "final_label")
XSTEST_ENV_VAR = "BEACON_XSTEST_DIR"
COMPLETIONS_GLOB = "xstest_v2_completions_*.csv"
SPEECHMAP_ENV_VAR = "BEACON_SPEECHMAP_DIR"
SPEECHMAP_GLOB = "*_judged.csv"
XSTEST_WEIGHT = 3.0
# Published on all five XSTest v2 models (binary refusal vs compliance).
BASELINES = {"xstest_string_match": 0.884, "gpt4_judge": 0.821}


class LabelledDataError(ValueError):
    """A CSV that cannot be evaluated; the message names the file, line, column and value."""


@dataclass
class LabelledAnswers:
    path: Path
    texts: list[str]
    labels: list[int]  # positions in CLASSES
    columns: dict[str, list[str]] = field(default_factory=dict)  # every other column

    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @property
    def short_name(self) -> str:
        return _short(self.path)

    @property
    def questions(self) -> list[str | None]:
        """What each answer was asked (the `prompt` column), None where the file has none."""
        return list(self.columns.get("prompt", [None] * len(self.texts)))

    def column(self, name: str) -> list[str]:
        """Values of a column; a file without a `model` column is one model (XSTest files are
        one model each), and one without `language` is English."""
        if name in self.columns:
            return self.columns[name]
        if name == "model":
            return [self.short_name] * len(self.texts)
        if name == "language":
            return ["en"] * len(self.texts)
        raise LabelledDataError(
            f"{self.path}: no column {name!r} to group by (has: {', '.join(self.columns)})"
        )


def load_labelled(path: Path) -> LabelledAnswers:
    path = Path(path)
    _, text = read_utf8_text(path, LabelledDataError)
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 28))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header:
            raise LabelledDataError(f"{path}: empty file (no header line)")
        header = [h.strip() for h in header]
        for column in REQUIRED_COLUMNS:
            if column not in header:
                raise LabelledDataError(
                    f"{path}: missing column {column!r} (has: {', '.join(header)})"
                )
        completion, label = header.index("completion"), header.index("final_label")
        texts, labels = [], []
        columns: dict[str, list[str]] = {
            h: [] for h in header if h not in REQUIRED_COLUMNS and h
        }
        line = reader.line_num + 1  # first line of the next record
        for record in reader:
            if not record:  # a blank line
                line = reader.line_num + 1
                continue
            if len(record) != len(header):
                raise LabelledDataError(
                    f"{path}: line {line}: {len(record)} fields, the header has {len(header)}"
                )
            value = record[label].strip()
            if value not in LABELS:
                raise LabelledDataError(
                    f"{path}: line {line}: column 'final_label': unknown label {value!r} "
                    f"(expected one of {', '.join(LABELS)})"
                )
            texts.append(record[completion])
            labels.append(LABELS[value])
            for i, h in enumerate(header):
                if h in columns:
                    columns[h].append(record[i])
            line = reader.line_num + 1
    except csv.Error as exc:
        raise LabelledDataError(
            f"{path}: line {reader.line_num}: not a readable CSV ({exc})"
        ) from None
    return LabelledAnswers(path, texts, labels, columns)


def _default_dir(env_var: str, name: str, project_dir: Path | None) -> Path:
    if os.environ.get(env_var):
        return Path(os.environ[env_var])
    project = project_dir or Path(__file__).resolve().parents[2]
    return project.parent / "shared" / "data" / name


def default_xstest_dir(project_dir: Path | None = None) -> Path:
    """BEACON_XSTEST_DIR, else ../shared/data/xstest beside the project."""
    return _default_dir(XSTEST_ENV_VAR, "xstest", project_dir)


def default_speechmap_dir(project_dir: Path | None = None) -> Path:
    """BEACON_SPEECHMAP_DIR, else ../shared/data/speechmap beside the project."""
    return _default_dir(SPEECHMAP_ENV_VAR, "speechmap", project_dir)


def default_training_files(
    xstest_dir: Path | None = None, speechmap_dir: Path | None = None
) -> list[Path]:
    """The SpeechMap judged answers and the XSTest completions, sorted by name in each."""
    files = []
    for directory, pattern, env_var in (
        (speechmap_dir or default_speechmap_dir(), SPEECHMAP_GLOB, SPEECHMAP_ENV_VAR),
        (xstest_dir or default_xstest_dir(), COMPLETIONS_GLOB, XSTEST_ENV_VAR),
    ):
        found = sorted(Path(directory).glob(pattern))
        if not found:
            raise LabelledDataError(
                f"{directory}: no {pattern} files (set {env_var} or pass --train-csv)"
            )
        files += found
    return files


def training_weights(data: Sequence[LabelledAnswers]) -> list[float]:
    """XSTest's short English answers weigh XSTEST_WEIGHT each: 1,350 of them against 9,200
    long SpeechMap answers would otherwise be drowned out."""
    return [
        XSTEST_WEIGHT if d.path.name.startswith("xstest") else 1.0
        for d in data
        for _ in d.texts
    ]


def train_classifier(
    files: Sequence[Path] | Sequence[LabelledAnswers],
    config: TrainingConfig | None = None,
    name: str | None = None,
) -> ResponseClassifier:
    data = [f if isinstance(f, LabelledAnswers) else load_labelled(f) for f in files]
    texts = [t for d in data for t in d.texts]
    labels = [y for d in data for y in d.labels]
    groups = [f"{d.short_name}:{g}" for d in data for g in d.column("model")]
    trained_on = [{"file": d.path.name, "sha256": d.sha256(), "n": len(d.texts)} for d in data]
    label = name or "beacon-char(" + "+".join(d.short_name for d in data) + ")"
    questions = [q for d in data for q in d.questions]
    model = train(
        texts, labels, label, config, trained_on, groups=groups, weights=training_weights(data),
        questions=questions,
    )
    return ResponseClassifier(model)


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

    accuracy_3class = accuracy

    def precision(self, k: int) -> float:
        predicted = self.confusion[:, k].sum()
        return float(self.confusion[k, k] / predicted) if predicted else float("nan")

    def recall(self, k: int) -> float:
        actual = self.confusion[k, :].sum()
        return float(self.confusion[k, k] / actual) if actual else float("nan")

    @property
    def evasion_recall(self) -> float:
        """Recall of partial refusals (SpeechMap's EVASIVE); nan when there are none."""
        return self.recall(2)

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
    classifier: ResponseClassifier,
    texts: Sequence[str],
    labels: Sequence[int],
    questions: Sequence[str | None] | None = None,
) -> Evaluation:
    predicted = classifier.classify(list(texts), questions=questions)
    return from_predictions(classifier.name, labels, predicted)


def predicted_indices(predicted: Sequence[ResponseClass]) -> np.ndarray:
    # An empty human-labelled answer (a technical failure) counts as a compliance missed.
    index = {c: i for i, c in enumerate(CLASSES_AS_RESPONSE)}
    return np.array([index.get(p, 0) for p in predicted], dtype=np.int64)


def from_predictions(
    name: str, labels: Sequence[int], predicted: Sequence[ResponseClass] | np.ndarray
) -> Evaluation:
    if not isinstance(predicted, np.ndarray):
        predicted = predicted_indices(predicted)
    confusion = np.zeros((len(CLASSES), len(CLASSES)), dtype=np.int64)
    np.add.at(confusion, (np.asarray(labels, dtype=np.int64), predicted), 1)
    return Evaluation(name, confusion)


CLASSES_AS_RESPONSE = (
    ResponseClass.SUBSTANTIVE,
    ResponseClass.REFUSAL,
    ResponseClass.PARTIAL_REFUSAL,
)
CLASS_NAMES = ("compliance", "refusal", "partial")  # partial refusal = SpeechMap's EVASIVE


def _pct(x: float) -> str:
    return "  -  " if np.isnan(x) else f"{x:.3f}"


def format_evaluation(evaluation: Evaluation, title: str) -> str:
    frame = pd.DataFrame(
        evaluation.confusion,
        index=[f"human {n}" for n in CLASS_NAMES],
        columns=[f"predicted {n}" for n in CLASS_NAMES],
    )
    e = evaluation
    per_class = ", ".join(
        f"{n} P {_pct(e.precision(k))} R {_pct(e.recall(k))}" for k, n in enumerate(CLASS_NAMES)
    )
    return "\n".join(
        [
            f"== {title} (n={e.n}, classifier {e.classifier})",
            frame.to_string(),
            f"per class: {per_class}",
            f"3-class accuracy {e.accuracy:.3f}, macro F1 {e.macro_f1:.3f}, "
            f"evasion recall {_pct(e.evasion_recall)}",
            f"binary (refusal or partial vs compliance): accuracy {e.binary_accuracy:.3f}, "
            f"precision {e.binary_precision:.3f}, recall {e.binary_recall:.3f}, "
            f"F1 {e.binary_f1:.3f}",
        ]
    )


def format_breakdown(evaluations: dict[str, Evaluation], title: str) -> str:
    """One line per part (language, file): the figures the targets are stated in."""
    lines = [f"== {title}"]
    for key, e in evaluations.items():
        lines.append(
            f"  {key:<12} n={e.n:<6} accuracy_3class={e.accuracy:.3f} "
            f"binary_accuracy={e.binary_accuracy:.3f} evasion_recall={e.evasion_recall:.3f} "
            f"refusal_recall={e.recall(1):.3f} macro_f1={e.macro_f1:.3f}"
        )
    return "\n".join(lines)


def summary_line(evaluation: Evaluation) -> str:
    e = evaluation
    return (
        f"binary_accuracy={e.binary_accuracy:.3f} macro_f1={e.macro_f1:.3f} n={e.n} "
        f"classifier={e.classifier} accuracy_3class={e.accuracy:.3f} "
        f"evasion_recall={e.evasion_recall:.3f}"
    )


def pooled(evaluations: Sequence[Evaluation], name: str) -> Evaluation:
    return Evaluation(name, sum((e.confusion for e in evaluations), np.zeros((3, 3), np.int64)))


def group_folds(groups: Sequence[str], folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """GroupKFold splits: every group (a model's answers) is held out whole, in one fold."""
    from sklearn.model_selection import GroupKFold

    distinct = len(set(groups))
    if folds < 2 or folds > distinct:
        raise LabelledDataError(f"--folds {folds}: need 2 to {distinct} (the number of groups)")
    rows = np.arange(len(groups))
    return list(GroupKFold(n_splits=folds).split(rows, rows, np.asarray(groups)))


@dataclass
class CrossValidation:
    name: str
    data: list[LabelledAnswers]
    predicted: np.ndarray  # class index per answer, in file order
    folds: list[dict]  # held-out groups and thresholds of each fold

    def _parts(self, key: Sequence[str]) -> dict[str, Evaluation]:
        labels = np.array([y for d in self.data for y in d.labels])
        keys = np.asarray(key)
        return {
            k: from_predictions(self.name, labels[keys == k], self.predicted[keys == k])
            for k in sorted(set(keys.tolist()))
        }

    def by_file(self) -> dict[str, Evaluation]:
        return self._parts([d.short_name for d in self.data for _ in d.texts])

    def by_language(self) -> dict[str, Evaluation]:
        return self._parts([lang for d in self.data for lang in d.column("language")])

    def total(self) -> Evaluation:
        labels = [y for d in self.data for y in d.labels]
        return from_predictions(self.name, labels, self.predicted)


def cross_validate(
    data: Sequence[LabelledAnswers],
    group_by: str,
    folds: int,
    config: TrainingConfig | None = None,
    log=None,
) -> CrossValidation:
    """Each fold's groups (e.g. models) scored by a classifier trained on the other groups, its
    thresholds tuned by grouped folds inside that training part."""
    data = list(data)
    texts = [t for d in data for t in d.texts]
    labels = [y for d in data for y in d.labels]
    groups = [f"{d.short_name}:{g}" for d in data for g in d.column(group_by)]
    questions = [q for d in data for q in d.questions]
    weights = np.asarray(training_weights(data))
    predicted = np.zeros(len(texts), dtype=np.int64)
    record = []
    for i, (train_rows, test_rows) in enumerate(group_folds(groups, folds)):
        model = train(
            [texts[r] for r in train_rows],
            [labels[r] for r in train_rows],
            f"beacon-char(fold {i + 1})",
            config,
            groups=[groups[r] for r in train_rows],
            weights=weights[train_rows],
            questions=[questions[r] for r in train_rows],
        )
        classifier = ResponseClassifier(model)
        predicted[test_rows] = predicted_indices(
            classifier.classify(
                [texts[r] for r in test_rows], questions=[questions[r] for r in test_rows]
            )
        )
        held_out = sorted({groups[r] for r in test_rows})
        record.append({"held_out": held_out, "thresholds": model.thresholds})
        if log:
            log(f"fold {i + 1}/{folds}: held out {len(held_out)} {group_by}s "
                f"({len(test_rows)} answers), thresholds {model.thresholds}")
    return CrossValidation(f"beacon-char(by-{group_by},{folds}-fold)", data, predicted, record)


def from_verdicts(
    name: str, labels: Sequence[int], classes: Sequence[ResponseClass | None]
) -> tuple[Evaluation, int]:
    """A judge scored as the classifier is, on the answers it judged; the answers it failed to
    judge (None) are left out of the figures and counted, so a judge cannot look better by
    failing on the hard ones unseen."""
    kept = [(y, c) for y, c in zip(labels, classes, strict=True) if c is not None]
    evaluation = from_predictions(name, [y for y, _ in kept], [c for _, c in kept])
    return evaluation, len(labels) - len(kept)
