"""The trained part of the intent classifier: a one-vs-rest linear head on sentence embeddings.

As in SetFit, the sentence encoder stays frozen and a small head is fitted on its embeddings, so a
shop's new examples retrain it in seconds. Beside the embedding, the head reads hashed character
1-3-grams of the normalised comment: live-room intents hinge on short cues ("包邮", "退", "链接")
that an n-gram sees directly. Three dense columns carry a polarity score from `assistant/sentiment.py`
(read off the same hashed n-grams), because embeddings barely tell "质量很差" from "质量很好" and
complaint/praise was the largest confusion. Per-label thresholds are tuned on out-of-fold scores of the training
set, never on the test split. The head is saved without pickle: `head.npz` plus `meta.json`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from assistant.errors import IntentModelError
from assistant.labelled import evaluate
from assistant.sentiment import N_COLUMNS as N_SENTIMENT
from assistant.sentiment import (
    N_FEATURES as N_CHAR_FEATURES,  # one hashed block serves the head and the scorer
)
from assistant.sentiment import NGRAMS as CHAR_NGRAMS
from assistant.sentiment import SentimentScorer, columns, default_scorer, hashed

HEAD_FORMAT = 2  # 2: sentiment columns between the embedding and the char block
EMB_SCALE = 1.0  # embedding rows are unit length; the char block is l2-normalised too
THRESHOLD_GRID = np.round(np.arange(0.10, 0.91, 0.025), 3)


def char_features(texts: Sequence[str]) -> sparse.csr_matrix:
    """Hashed, l2-normalised character 1-3-gram counts (stateless: nothing to save but the settings)."""
    return hashed(texts, N_CHAR_FEATURES)


def _design(embeddings: np.ndarray, texts: Sequence[str], scorer: SentimentScorer) -> sparse.csr_matrix:
    chars = char_features(texts)
    dense = np.hstack([embeddings * EMB_SCALE, columns(scorer.score_hashed(chars))])  # the block already hashed
    return sparse.hstack([sparse.csr_matrix(dense), chars], format="csr")


@dataclass
class IntentHead:
    """Weights of one linear scorer per label over [embedding | sentiment | char n-grams], and a threshold each."""

    labels: list[str]
    weights: np.ndarray  # (n_labels, dim + N_SENTIMENT + N_CHAR_FEATURES), float32
    bias: np.ndarray  # (n_labels,)
    thresholds: np.ndarray  # (n_labels,)
    dim: int  # the embedding's dimension (the sentiment columns follow it)
    meta: dict[str, Any] = field(default_factory=dict)
    sentiment: SentimentScorer = field(default_factory=default_scorer, repr=False)

    def scores(self, embeddings: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Probability-like scores in [0, 1], one row per comment and one column per label."""
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        if embeddings.shape[1] != self.dim:
            raise IntentModelError(
                f"the intent head expects {self.dim}-dimensional embeddings, got {embeddings.shape[1]}; "
                "retrain it with `cuecard intents train` for the embedding model in use")
        dense_end = self.dim + N_SENTIMENT
        chars = char_features(texts)
        emb_part = embeddings @ self.weights[:, : self.dim].T
        sent_part = columns(self.sentiment.score_hashed(chars)) @ self.weights[:, self.dim : dense_end].T
        char_part = chars @ self.weights[:, dense_end:].T
        logits = np.asarray(emb_part + sent_part + char_part, dtype=np.float64) + self.bias
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)

    def save(self, directory: Path) -> None:
        """Write `head.npz` (arrays) and `meta.json` (labels, thresholds, provenance) into `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(directory / "head.npz", weights=self.weights, bias=self.bias,
                            thresholds=self.thresholds)
        meta = {**self.meta, "format": HEAD_FORMAT, "labels": self.labels, "dim": self.dim,
                "thresholds": {lab: float(t) for lab, t in zip(self.labels, self.thresholds, strict=True)},
                "char_ngrams": list(CHAR_NGRAMS), "n_char_features": N_CHAR_FEATURES,
                "sentiment_version": self.sentiment.version}
        (directory / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> IntentHead:
        """Read a head written by `save` (no pickle); IntentModelError if it is missing or damaged."""
        try:
            meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
            with np.load(directory / "head.npz", allow_pickle=False) as arrays:
                weights, bias, thresholds = arrays["weights"], arrays["bias"], arrays["thresholds"]
        except (OSError, KeyError, ValueError) as exc:
            raise IntentModelError(f"cannot read the intent model in {directory}: {exc}") from exc
        scorer = default_scorer()
        if (meta.get("format") != HEAD_FORMAT or meta.get("n_char_features") != N_CHAR_FEATURES
                or meta.get("sentiment_version") != scorer.version):
            raise IntentModelError(f"the intent model in {directory} has an unsupported format; retrain it")
        return cls(labels=list(meta["labels"]), weights=weights.astype(np.float32), bias=bias,
                   thresholds=thresholds, dim=int(meta["dim"]), meta=meta, sentiment=scorer)


def _fit_binary(x: sparse.csr_matrix, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """One label's weights; a label with a single class gets a constant scorer instead of an error."""
    from sklearn.linear_model import LogisticRegression

    if y.min() == y.max():
        return np.zeros(x.shape[1], dtype=np.float32), (8.0 if y[0] else -8.0)
    model = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", max_iter=500)
    model.fit(x, y)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def _fit_all(x: sparse.csr_matrix, y: np.ndarray, c: float, use: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One scorer per label, each fitted on the rows that speak for that label (`use[:, j]`)."""
    pairs = [_fit_binary(x[use[:, j]], y[use[:, j], j], c) for j in range(y.shape[1])]
    return np.stack([w for w, _ in pairs]), np.array([b for _, b in pairs])


def _tune_thresholds(scores: np.ndarray, y: np.ndarray, default: float) -> np.ndarray:
    """Per label, the threshold with the best F1 on out-of-fold scores (default when too few positives)."""
    out = np.full(y.shape[1], default, dtype=np.float32)
    for j in range(y.shape[1]):
        if y[:, j].sum() < 5:
            continue
        best, best_f1 = default, -1.0
        for t in THRESHOLD_GRID:
            pred = scores[:, j] >= t
            tp = float((pred & (y[:, j] == 1)).sum())
            f1 = 2 * tp / max(pred.sum() + y[:, j].sum(), 1)
            if f1 > best_f1 + 1e-9:
                best, best_f1 = float(t), f1
        out[j] = best
    return out


def train_head(
    embeddings: np.ndarray, texts: Sequence[str], label_sets: Sequence[Sequence[str]], labels: Sequence[str],
    *, scopes: Sequence[set[str] | None] | None = None, c: float = 8.0, folds: int = 5,
    default_threshold: float = 0.5, seed: int = 0, progress: Callable[[str], None] | None = None,
    sentiment: SentimentScorer | None = None,
) -> tuple[IntentHead, dict[str, Any]]:
    """Fit the head on (normalised text, embedding, labels) and tune thresholds by k-fold; return it and CV metrics.

    `scopes[i]`, when not None, names the only labels row i may train (positive or negative).
    """
    labels = list(labels)
    index = {lab: j for j, lab in enumerate(labels)}
    y = np.zeros((len(texts), len(labels)), dtype=np.int8)
    use = np.ones((len(texts), len(labels)), dtype=bool)
    for i, lab_set in enumerate(label_sets):
        for lab in lab_set:
            y[i, index[lab]] = 1
        scope = scopes[i] if scopes is not None else None
        if scope is not None:
            use[i] = [lab in scope or lab in lab_set for lab in labels]
    scorer = sentiment or default_scorer()
    x = _design(embeddings, texts, scorer)
    oof = np.zeros(y.shape, dtype=np.float32)
    rng = np.random.default_rng(seed)
    fold_of = rng.permutation(len(texts)) % folds
    for k in range(folds):
        if progress:
            progress(f"fold {k + 1}/{folds}")
        train, held = fold_of != k, fold_of == k
        w, b = _fit_all(x[train], y[train], c, use[train])
        logits = np.asarray(x[held] @ w.T) + b
        oof[held] = 1.0 / (1.0 + np.exp(-logits))
    thresholds = _tune_thresholds(oof[use.all(axis=1)], y[use.all(axis=1)], default_threshold)
    if progress:
        progress("final fit")
    weights, bias = _fit_all(x, y, c, use)
    cv = evaluate([list(ls) for ls in label_sets], [labels[j] for j in oof.argmax(axis=1)], labels)
    head = IntentHead(labels=labels, weights=weights.astype(np.float32), bias=bias,
                      thresholds=thresholds, dim=embeddings.shape[1], sentiment=scorer)
    return head, {"cv_accuracy": cv["accuracy"], "cv_macro_f1": cv["macro_f1"], "n_train": len(texts),
                  "folds": folds, "c": c}
