"""A small multinomial logistic regression over the refusal cues, in numpy.

Trained full-batch with Adam for a fixed number of steps from zero, so training is
deterministic: the same CSVs give the same weights. Weights are saved as JSON (feature name ->
one weight per class), small enough to ship inside the package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from beacon_pipelines.analysis.refusal_features import extract_features

CLASSES = ("substantive", "refusal", "partial_refusal")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class TrainingConfig:
    l2: float = 0.01  # per-feature L2 penalty on the mean log loss
    steps: int = 400
    learning_rate: float = 0.1
    min_count: int = 3  # a cue seen in fewer training answers is not learnt
    opening_ngrams: int = 0  # words of the first sentence used as n-grams (0: none)
    # Train also on each full refusal's first sentence when it refuses in words ("I cannot
    # help with that."): alone it is still a refusal, and some assistants never say more.
    augment_openings: bool = True


@dataclass
class RefusalModel:
    name: str
    features: dict[str, int]  # feature name -> row of weights
    weights: np.ndarray  # (n_features, n_classes)
    bias: np.ndarray  # (n_classes,)
    config: TrainingConfig = field(default_factory=TrainingConfig)
    trained_on: list[dict] = field(default_factory=list)

    def feature_rows(self, texts: list[str]) -> list[list[int]]:
        index, ngrams = self.features, self.config.opening_ngrams
        return [
            sorted({index[f] for f in extract_features(t, ngrams) if f in index}) for t in texts
        ]

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 3) class probabilities in CLASSES order."""
        return _softmax(_scores(self.feature_rows(texts), self.weights, self.bias))

    def to_json(self) -> dict:
        names = sorted(self.features, key=self.features.get)
        return {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "classes": list(CLASSES),
            "config": self.config.__dict__,
            "trained_on": self.trained_on,
            "bias": [round(float(b), 6) for b in self.bias],
            "weights": {
                n: [round(float(w), 6) for w in self.weights[i]] for i, n in enumerate(names)
            },
        }

    def save(self, path: Path) -> None:
        text = json.dumps(self.to_json(), indent=1, sort_keys=False) + "\n"
        # Written next to the target then renamed: never a half-written weights file.
        tmp = Path(path).with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> RefusalModel:
        data = json.loads(Path(path).read_text())
        if data.get("format_version") != FORMAT_VERSION or tuple(data["classes"]) != CLASSES:
            raise ValueError(f"{path}: not a refusal model of format {FORMAT_VERSION}")
        names = list(data["weights"])
        return cls(
            name=data["name"],
            features={n: i for i, n in enumerate(names)},
            weights=np.array([data["weights"][n] for n in names], dtype=np.float64).reshape(
                len(names), len(CLASSES)
            ),
            bias=np.array(data["bias"], dtype=np.float64),
            config=TrainingConfig(**data["config"]),
            trained_on=data.get("trained_on", []),
        )


def _scores(rows: list[list[int]], weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    flat = np.fromiter((i for r in rows for i in r), dtype=np.int64, count=int(lengths.sum()))
    owner = np.repeat(np.arange(len(rows)), lengths)
    scores = np.tile(bias, (len(rows), 1))
    np.add.at(scores, owner, weights[flat])
    return scores


def _softmax(scores: np.ndarray) -> np.ndarray:
    z = np.exp(scores - scores.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def train(
    texts: list[str],
    labels: list[int],
    name: str,
    config: TrainingConfig | None = None,
    trained_on: list[dict] | None = None,
) -> RefusalModel:
    """Fit the model on answers and their class indices (positions in CLASSES)."""
    config = config or TrainingConfig()
    texts, labels = list(texts), list(labels)
    if config.augment_openings:
        from beacon_pipelines.analysis.refusal_features import first_sentence

        refusal = CLASSES.index("refusal")
        openings = [first_sentence(t) for t, y in zip(texts, labels, strict=True) if y == refusal]
        # Only openings that refuse in words: a bare short sentence is not evidence of refusal.
        extra = [o for o in openings if "opening_refusal" in extract_features(o)]
        texts, labels = texts + extra, labels + [refusal] * len(extra)
    extracted = [set(extract_features(t, config.opening_ngrams)) for t in texts]
    counts: dict[str, int] = {}
    for feats in extracted:
        for f in feats:
            counts[f] = counts.get(f, 0) + 1
    names = sorted(f for f, c in counts.items() if c >= config.min_count)
    index = {f: i for i, f in enumerate(names)}
    rows = [sorted(index[f] for f in feats if f in index) for feats in extracted]

    n, d, k = len(rows), len(names), len(CLASSES)
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    flat = np.array([i for r in rows for i in r], dtype=np.int64)
    owner = np.repeat(np.arange(n), lengths)
    target = np.eye(k)[np.asarray(labels)]
    weights, bias = np.zeros((d, k)), np.zeros(k)
    moments = [np.zeros((d, k)), np.zeros((d, k)), np.zeros(k), np.zeros(k)]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, config.steps + 1):
        scores = np.tile(bias, (n, 1))
        np.add.at(scores, owner, weights[flat])
        residual = (_softmax(scores) - target) / n
        grad_w = np.zeros((d, k))
        np.add.at(grad_w, flat, residual[owner])
        grad_w += config.l2 * weights
        grad_b = residual.sum(axis=0)
        for param, grad, m, v in (
            (weights, grad_w, moments[0], moments[1]),
            (bias, grad_b, moments[2], moments[3]),
        ):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            m_hat = m / (1 - beta1**step)
            v_hat = v / (1 - beta2**step)
            param -= config.learning_rate * m_hat / (np.sqrt(v_hat) + eps)
    return RefusalModel(
        name=name,
        features=index,
        weights=weights,
        bias=bias,
        config=config,
        trained_on=trained_on or [],
    )
