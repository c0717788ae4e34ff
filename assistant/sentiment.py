"""Polarity of a comment: a linear scorer on hashed character 1-3-grams, trained on real shop reviews.

Sentence embeddings barely encode polarity ("质量很差" sits next to "质量很好"), so the intent head
confuses complaint and praise. This scorer reads the same hashed n-grams the head already computes
(same settings, so the head passes its matrix in and pays one sparse mat-vec) and gives a signed
score: > 0 leans positive, < 0 negative. Weights ship as `data/sentiment/sentiment.npz` (float16,
no pickle) with `meta.json`; `data/sentiment/derive.py` rebuilds them from the shared review corpus.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from assistant.errors import IntentModelError
from assistant.normalize import CLASSIFY_CHARS, normalize

DATA_DIR = Path(__file__).resolve().parent / "data" / "sentiment"
FORMAT = 1
N_FEATURES = 2**16  # the head's char block size: one hashed matrix serves both
NGRAMS = (1, 3)
FEATURE_SCALE = 0.4  # keeps the three columns on the scale of the unit-length embedding's entries
N_COLUMNS = 3


@lru_cache(maxsize=4)
def vectorizer(n_features: int = N_FEATURES) -> Any:
    """The stateless hashing vectorizer the scorer was trained with (shared by the intent head)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer="char", ngram_range=NGRAMS, n_features=n_features,
                             alternate_sign=False, norm="l2", lowercase=False, dtype=np.float32)


def hashed(normalized: Sequence[str], n_features: int = N_FEATURES) -> sparse.csr_matrix:
    """Hashed, l2-normalised character 1-3-gram counts of already-normalised texts."""
    if len(normalized) == 0:  # sklearn's hasher cannot take an empty batch
        return sparse.csr_matrix((0, n_features), dtype=np.float32)
    return vectorizer(n_features).transform(list(normalized)).tocsr()


class SentimentScorer:
    """Signed polarity scores and the three dense columns the intent head reads."""

    def __init__(self, weights: np.ndarray, bias: float, meta: dict[str, Any]) -> None:
        if weights.ndim != 1 or weights.shape[0] != int(meta.get("n_features", -1)):
            raise IntentModelError("sentiment weights do not match their meta.json n_features")
        if weights.shape[0] != N_FEATURES:  # the intent head hands the scorer its own char block
            raise IntentModelError(f"sentiment weights have {weights.shape[0]} n_features; the intent head hashes {N_FEATURES}")
        self.weights = weights.astype(np.float32)
        self.bias = float(bias)
        self.meta = meta
        self.n_features = int(weights.shape[0])
        self.version = str(meta.get("version", ""))

    @classmethod
    def load(cls, directory: Path = DATA_DIR) -> SentimentScorer:
        """Read `sentiment.npz` + `meta.json` (no pickle); IntentModelError if missing or damaged."""
        try:
            meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
            with np.load(directory / "sentiment.npz", allow_pickle=False) as arrays:
                weights, bias = arrays["weights"], float(arrays["bias"])
        except (OSError, KeyError, ValueError) as exc:
            raise IntentModelError(f"cannot read the sentiment model in {directory}: {exc}") from exc
        if meta.get("format") != FORMAT or list(meta.get("ngram_range", [])) != list(NGRAMS):
            raise IntentModelError(f"the sentiment model in {directory} has an unsupported format")
        return cls(weights, bias, meta)

    def score_hashed(self, x: sparse.csr_matrix) -> np.ndarray:
        """Scores from a hashed matrix built with `hashed` (same n_features): one sparse mat-vec."""
        if x.shape[1] != self.n_features:
            raise IntentModelError(f"sentiment expects {self.n_features} hashed features, got {x.shape[1]}")
        return np.asarray(x @ self.weights, dtype=np.float32) + np.float32(self.bias)

    def score_normalized(self, normalized: Sequence[str]) -> np.ndarray:
        """Scores of texts already in `normalize` form and cut to what the classifier reads."""
        return self.score_hashed(hashed(normalized, self.n_features))

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Signed polarity of raw texts: > 0 positive, < 0 negative (logistic-regression logit)."""
        return self.score_normalized([normalize(t)[:CLASSIFY_CHARS] for t in texts])

    def features(self, texts: Sequence[str]) -> np.ndarray:
        """The (n, 3) float32 columns the intent head appends for raw texts."""
        return columns(self.score(texts))


def columns(scores: np.ndarray) -> np.ndarray:
    """[s, max(s, 0), min(s, 0)] * FEATURE_SCALE: the head can weigh praise and complaint sides apart."""
    s = np.asarray(scores, dtype=np.float32).reshape(-1)
    return (np.stack([s, np.maximum(s, 0), np.minimum(s, 0)], axis=1) * FEATURE_SCALE).astype(np.float32)


@lru_cache(maxsize=1)
def default_scorer() -> SentimentScorer:
    """The shipped scorer, loaded once per process."""
    return SentimentScorer.load(DATA_DIR)
