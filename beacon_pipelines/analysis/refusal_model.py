"""The refusal classifier's model: a multinomial logistic regression (scikit-learn) over hashed
character n-grams and structural features (`refusal_features`), with decision thresholds
tuned by grouped cross-validation inside the training set.

Stored as a plain .npz (numpy arrays only, loaded with allow_pickle=False: no pickled code):
the coefficients as float16, the intercepts, and a JSON header with the feature parameters,
thresholds and what it was trained on. The feature hashing is rebuilt from its parameters, so
the file is the whole model. Written with fixed zip timestamps: the same inputs give the same
bytes.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from beacon_pipelines.analysis.refusal_cues import CUE_FEATURES
from beacon_pipelines.analysis.refusal_features import (
    BATCH,
    STRUCTURAL,
    FeatureConfig,
    featurize,
    split_reasoning,
)

CLASSES = ("substantive", "refusal", "partial_refusal")
SUBSTANTIVE, REFUSAL, PARTIAL = range(3)
FORMAT_VERSION = 3  # 3: opening block moved buckets, Arrow cues, question features
SHORT_CHARS = 500  # final answers shorter than this are "short" (see Thresholds)
QUESTION_DROPOUT = 5  # every 5th training answer is trained without its question


@dataclass(frozen=True)
class Thresholds:
    """How probabilities become a class.

    Withheld (refusal or evasion) when P(refusal) + P(evasion) >= `withheld` (`short_withheld`
    for a final answer under SHORT_CHARS), or, for an answer of at least SHORT_CHARS, when
    P(evasion) >= `evasion`: evasions are the rare, hard class, and a lower bar of their own
    recovers them without calling every lecture a refusal. Short answers get bars of their own
    because the training answers are mostly essays: a short factual answer has few n-grams,
    and most short training answers are refusals. A withheld answer is a refusal when
    P(refusal) >= P(evasion), else an evasion.
    """

    withheld: float = 0.5
    evasion: float = 1.0
    short_withheld: float = 0.5

    def decide(self, probs: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        long = np.ones(len(probs), bool) if lengths is None else lengths >= SHORT_CHARS
        bar = np.where(long, self.withheld, self.short_withheld)
        withheld = (probs[:, REFUSAL] + probs[:, PARTIAL] >= bar) | (
            (probs[:, PARTIAL] >= self.evasion) & long
        )
        kind = np.where(probs[:, REFUSAL] >= probs[:, PARTIAL], REFUSAL, PARTIAL)
        return np.where(withheld, kind, SUBSTANTIVE)


@dataclass(frozen=True)
class TrainingConfig:
    C: float = 10.0  # inverse L2 strength of the logistic regression
    class_weight: str | None = "balanced"
    max_iter: int = 300
    # Thresholds tuned on out-of-fold probabilities of GroupKFold(inner_folds) over the
    # training groups (whole models): never on the answers being evaluated. 0: defaults.
    inner_folds: int = 3
    evasion_weight: float = 0.5  # what tune_thresholds adds per unit of evasion recall
    features: FeatureConfig = field(default_factory=FeatureConfig)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> TrainingConfig:
        data = dict(data)
        data["features"] = FeatureConfig(**data.get("features", {}))
        return cls(**data)


@dataclass
class RefusalModel:
    name: str
    coef: np.ndarray  # (n_features, n_classes) float32 (stored as float16)
    intercept: np.ndarray  # (n_classes,)
    thresholds: Thresholds = field(default_factory=Thresholds)
    config: TrainingConfig = field(default_factory=TrainingConfig)
    trained_on: list[dict] = field(default_factory=list)

    @property
    def n_features(self) -> int:
        return int(self.coef.shape[0])

    def scores(self, matrix: sp.csr_matrix) -> np.ndarray:
        return np.asarray(matrix @ self.coef, dtype=np.float64) + self.intercept

    def probabilities(
        self, texts: Sequence[str | None], questions: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """(len(texts), 3) class probabilities in CLASSES order; `questions` (what each answer
        was asked, None where unknown) are read by a model whose features include them."""
        return self.probabilities_and_cues(texts, questions)[0]

    def probabilities_and_cues(
        self, texts: Sequence[str | None], questions: Sequence[str | None] | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """probabilities(), and which named cues (refusal_cues.cue_matrix) each answer has, as
        its features read them (None for a model without cues): what explains a class need
        not look for them again."""
        if questions is not None and len(questions) != len(texts):
            raise ValueError(f"{len(questions)} questions for {len(texts)} answers")
        features = self.config.features
        cues = None
        if features.cues:
            first = 2**features.bits + len(STRUCTURAL)
            cues = np.zeros((len(texts), len(CUE_FEATURES)), dtype=bool)
        if len(texts) == 0:
            return np.zeros((0, len(CLASSES))), cues
        # In batches: the features of 100k answers at once would take gigabytes.
        probabilities = []
        for i in range(0, len(texts), BATCH):
            matrix = featurize(
                texts[i : i + BATCH],
                features,
                None if questions is None else questions[i : i + BATCH],
            )
            probabilities.append(softmax(self.scores(matrix)))
            if cues is not None:
                # A cue present is a feature of CUE_WEIGHT; an absent one is not stored.
                block = matrix[:, first : first + len(CUE_FEATURES)]
                cues[i : i + BATCH] = block.toarray() != 0
        return np.concatenate(probabilities), cues

    def header(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "classes": list(CLASSES),
            "thresholds": asdict(self.thresholds),
            "config": self.config.to_json(),
            "trained_on": self.trained_on,
        }

    def save(self, path: Path) -> None:
        arrays = {
            "header": np.frombuffer(
                json.dumps(self.header(), indent=1, sort_keys=True).encode(), dtype=np.uint8
            ),
            "coef": self.coef.astype(np.float16),
            "intercept": self.intercept.astype(np.float64),
        }
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for key, array in arrays.items():
                member = io.BytesIO()
                np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
                # Fixed timestamp and attributes: the same model gives the same bytes.
                info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, member.getvalue(), compresslevel=9)
        # Written next to the target then renamed: never a half-written model file.
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(buffer.getvalue())
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> RefusalModel:
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(bytes(data["header"]).decode())
                coef, intercept = data["coef"], data["intercept"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{path}: not a refusal model ({exc})") from None
        if header.get("format_version") != FORMAT_VERSION or tuple(header["classes"]) != CLASSES:
            raise ValueError(f"{path}: not a refusal model of format {FORMAT_VERSION}")
        config = TrainingConfig.from_json(header["config"])
        if coef.shape != (config.features.n_features, len(CLASSES)):
            raise ValueError(f"{path}: coefficients of shape {coef.shape} do not fit its features")
        return cls(
            name=header["name"],
            coef=coef.astype(np.float32),
            intercept=np.asarray(intercept, dtype=np.float64),
            thresholds=Thresholds(**header["thresholds"]),
            config=config,
            trained_on=header.get("trained_on", []),
        )


def answer_lengths(texts: Sequence[str | None]) -> np.ndarray:
    """Characters of each final answer (after a reasoning trace), stripped."""
    return np.array(
        [len(split_reasoning(t).answer.strip()) if isinstance(t, str) else 0 for t in texts],
        dtype=np.int64,
    )


def softmax(scores: np.ndarray) -> np.ndarray:
    z = np.exp(scores - scores.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _fit(
    matrix: sp.csr_matrix,
    labels: np.ndarray,
    weights: np.ndarray | None,
    config: TrainingConfig,
) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(
        C=config.C, class_weight=config.class_weight, max_iter=config.max_iter
    )
    # Fit only the columns some training answer has: under L2 an unseen column's weight is 0
    # at the optimum anyway, and L-BFGS pays per column (a small training set over ~10^6
    # hashed buckets took seconds per fit).
    used = np.flatnonzero(matrix.getnnz(axis=0))
    model.fit(matrix[:, used], labels, sample_weight=weights)
    full = np.zeros((len(model.coef_), matrix.shape[1]))
    full[:, used] = model.coef_
    model.coef_ = full
    coef = np.zeros((matrix.shape[1], len(CLASSES)), dtype=np.float32)
    intercept = np.full(len(CLASSES), -30.0)  # a class absent from training is never chosen
    for row, k in enumerate(model.classes_):
        # Rounded as the file stores them, so a model scores the same before and after saving.
        if len(model.classes_) == 2:  # binary: one row of coefficients for classes_[1]
            sign = 1.0 if row == 1 else -1.0
            coef[:, k] = (sign * model.coef_[0] / 2).astype(np.float16)
            intercept[k] = sign * model.intercept_[0] / 2
        else:
            coef[:, k] = model.coef_[row].astype(np.float16)
            intercept[k] = model.intercept_[row]
    return coef, intercept


def tune_thresholds(
    probs: np.ndarray,
    labels: np.ndarray,
    lengths: np.ndarray | None = None,
    evasion_weight: float = 0.5,
) -> Thresholds:
    """The thresholds that do best on these (out-of-fold) probabilities: highest 3-class
    accuracy plus `evasion_weight` times the evasion recall (evasions are what an audit looks
    for, and the class a plain accuracy optimum gives up first); ties go to the first, higher
    bar. Long and short answers are tuned apart (their bars do not interact)."""
    lengths = np.full(len(labels), SHORT_CHARS) if lengths is None else np.asarray(lengths)
    long = lengths >= SHORT_CHARS

    def score(predicted: np.ndarray, rows: np.ndarray) -> float:
        y, p = labels[rows], predicted[rows]
        if len(y) == 0:
            return 0.0
        value = float((p == y).sum()) / len(labels)
        evasions = int((labels == PARTIAL).sum())
        if evasions:
            value += evasion_weight * float(((p == PARTIAL) & (y == PARTIAL)).sum()) / evasions
        return value

    bars = [float(b) for b in np.round(np.arange(0.80, 0.29, -0.05), 2)]
    best_long, best_long_score = (0.5, 1.0), -1.0
    for withheld in bars:
        for evasion in (1.0, *(float(e) for e in np.round(np.arange(0.5, 0.09, -0.025), 3))):
            s = score(Thresholds(withheld, evasion).decide(probs, lengths), long)
            if s > best_long_score + 1e-9:
                best_long, best_long_score = (withheld, evasion), s
    best_short, best_short_score = 0.5, -1.0
    for withheld in bars:
        s = score(Thresholds(short_withheld=withheld).decide(probs, lengths), ~long)
        if s > best_short_score + 1e-9:
            best_short, best_short_score = withheld, s
    return Thresholds(best_long[0], best_long[1], best_short)


def train(
    texts: Sequence[str],
    labels: Sequence[int],
    name: str,
    config: TrainingConfig | None = None,
    trained_on: list[dict] | None = None,
    groups: Sequence[str] | None = None,
    weights: Sequence[float] | None = None,
    questions: Sequence[str | None] | None = None,
) -> RefusalModel:
    """Fit on answers and their class indices (positions in CLASSES); `groups` (e.g. the model
    that wrote each answer) are what the inner threshold-tuning folds keep together;
    `questions`, what each answer was asked, for a config with question features (every
    QUESTION_DROPOUT-th is left out, so the model also knows answers whose question is not
    given)."""
    from sklearn.model_selection import GroupKFold

    config = config or TrainingConfig()
    texts = list(texts)
    if questions is not None:
        if len(questions) != len(texts):
            raise ValueError(f"{len(questions)} questions for {len(texts)} answers")
        questions = [None if i % QUESTION_DROPOUT == 0 else q for i, q in enumerate(questions)]
    matrix = featurize(texts, config.features, questions)
    matrix.sum_duplicates()
    y = np.asarray(labels, dtype=np.int64)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    groups_array = np.asarray(groups if groups is not None else ["all"] * len(y))
    thresholds = Thresholds()
    if config.inner_folds >= 2 and len(set(groups_array.tolist())) >= config.inner_folds:
        oof = np.zeros((len(y), len(CLASSES)))
        for train_rows, test_rows in GroupKFold(config.inner_folds).split(
            matrix, y, groups_array
        ):
            coef, intercept = _fit(
                matrix[train_rows], y[train_rows], None if w is None else w[train_rows], config
            )
            oof[test_rows] = softmax(np.asarray(matrix[test_rows] @ coef) + intercept)
        thresholds = tune_thresholds(oof, y, answer_lengths(texts), config.evasion_weight)
    coef, intercept = _fit(matrix, y, w, config)
    return RefusalModel(
        name=name,
        coef=coef,
        intercept=intercept,
        thresholds=thresholds,
        config=config,
        trained_on=trained_on or [],
    )
