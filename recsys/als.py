"""Implicit ALS (the `implicit` library) on confidence-weighted purchase counts.

Confidence weighting: "bm25" (implicit's BM25 formula: damps heavy buyers and very common items),
"log" (log1p of the count) or "none" (raw counts). The weighting's statistics are kept so one
user's factor can be recomputed from fresh purchases by the same least-squares step ALS uses,
without a retrain.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

from recsys.base import Arrays, History, Recommender
from recsys.data import Interactions

WEIGHTINGS = ("bm25", "log", "none")
BM25_K1, BM25_B = 100.0, 0.8  # implicit's defaults for bm25_weight


class ALSRecommender(Recommender):
    """Matrix factorisation of implicit feedback; user factors recomputable from a history."""

    kind: ClassVar[str] = "als"

    def __init__(self, factors: int = 64, regularization: float = 0.01, alpha: float = 1.0,
                 iterations: int = 15, weighting: str = "bm25", random_state: int = 42,
                 num_threads: int = 1, progress: bool = False) -> None:
        if weighting not in WEIGHTINGS:
            raise ValueError(f"ALS weighting must be one of {WEIGHTINGS}, got {weighting!r}")
        self.factors, self.regularization, self.alpha = factors, regularization, alpha
        self.iterations, self.weighting, self.random_state = iterations, weighting, random_state
        self.num_threads, self.progress = num_threads, progress
        self.user_factors = np.zeros((0, factors), np.float32)
        self.item_factors = np.zeros((0, factors), np.float32)
        self.idf = np.zeros(0, np.float32)
        self.avg_len = 1.0
        self._yty: np.ndarray | None = None

    @property
    def n_items(self) -> int:  # type: ignore[override]
        """How many items the model knows."""
        return len(self.item_factors)

    def _weigh_rows(self, rows: sparse.csr_matrix) -> sparse.csr_matrix:
        """Apply the confidence weighting (with the training set's statistics) to user rows."""
        w = rows.astype(np.float32).tocsr(copy=True)
        if self.weighting == "log":
            w.data = np.log1p(w.data)
        elif self.weighting == "bm25":
            lengths = np.asarray(w.sum(axis=1)).ravel()
            norm = (1.0 - BM25_B) + BM25_B * lengths / self.avg_len
            row_norm = np.repeat(norm, np.diff(w.indptr))
            w.data = w.data * (BM25_K1 + 1.0) / (BM25_K1 * row_norm + w.data) * self.idf[w.indices]
        return w

    def fit(self, data: Interactions) -> ALSRecommender:
        """Weight the user × item counts and run implicit's ALS (CPU, `num_threads` threads)."""
        from implicit.cpu.als import AlternatingLeastSquares

        ui = data.user_items
        n_users = max(ui.shape[0], 1)
        self.idf = (np.log(n_users) - np.log1p(np.bincount(ui.indices, minlength=ui.shape[1]))).astype(np.float32)
        self.idf = np.maximum(self.idf, 0.0)  # an item everyone bought carries no signal, never negative weight
        self.avg_len = float(np.asarray(ui.sum(axis=1)).mean()) or 1.0
        weighted = self._weigh_rows(ui)
        # implicit checks the BLAS thread count when the model is built: build it inside the limit too
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(factors=self.factors, regularization=self.regularization,
                                            alpha=self.alpha, iterations=self.iterations,
                                            random_state=self.random_state, num_threads=self.num_threads)
            model.fit(weighted, show_progress=self.progress)
        self.user_factors = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        self._yty = None
        return self

    @property
    def yty(self) -> np.ndarray:
        """Yᵀ Y, shared by every user's least-squares step."""
        if self._yty is None:
            y = self.item_factors.astype(np.float64)
            self._yty = y.T @ y
        return self._yty

    def user_vector(self, history: History) -> np.ndarray:
        """Solve one user's factor from a history, as ALS would (what implicit calls recalculate_user)."""
        items = np.concatenate(list(history)) if len(history) else np.empty(0, np.int64)
        items = items[items < self.n_items]
        if len(items) == 0:
            return np.zeros(self.factors, np.float32)
        cols, counts = np.unique(items, return_counts=True)
        row = sparse.csr_matrix((counts.astype(np.float32), cols, [0, len(cols)]), shape=(1, self.n_items))
        c = self._weigh_rows(row).data.astype(np.float64) * self.alpha
        y = self.item_factors[cols].astype(np.float64)
        a = self.yty + (y.T * (c - 1.0)) @ y + self.regularization * np.eye(self.factors)
        b = (y * c[:, None]).sum(axis=0)
        return np.linalg.solve(a, b).astype(np.float32)

    def scores(self, user: int | None, history: History) -> np.ndarray:
        """Dot products with the user's factor (trained one, or recomputed when `user` is None)."""
        if user is not None and 0 <= user < len(self.user_factors):
            vec = self.user_factors[user]
        else:
            vec = self.user_vector(history)
        return self.item_factors @ vec

    def similar_items(self, item: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Items whose factors point the same way (cosine)."""
        norms = np.linalg.norm(self.item_factors, axis=1) + 1e-9
        s = (self.item_factors @ self.item_factors[item]) / (norms * norms[item])
        s[item] = -np.inf
        k = min(k, self.n_items - 1)
        top = np.argpartition(-s, k - 1)[:k] if k > 0 else np.empty(0, np.int64)
        top = top[np.argsort(-s[top], kind="stable")]
        return top.astype(np.int64), s[top].astype(np.float32)

    def state(self) -> tuple[Arrays, dict[str, Any]]:
        """Factors and the weighting statistics."""
        return ({"user_factors": self.user_factors, "item_factors": self.item_factors, "idf": self.idf},
                {"factors": self.factors, "regularization": self.regularization, "alpha": self.alpha,
                 "iterations": self.iterations, "weighting": self.weighting, "avg_len": self.avg_len,
                 "random_state": self.random_state})

    @classmethod
    def from_state(cls, arrays: Arrays, params: dict[str, Any]) -> ALSRecommender:
        """Rebuild from `state()`."""
        model = cls(int(params["factors"]), float(params["regularization"]), float(params["alpha"]),
                    int(params["iterations"]), str(params["weighting"]), int(params["random_state"]))
        model.user_factors = arrays["user_factors"].astype(np.float32)
        model.item_factors = arrays["item_factors"].astype(np.float32)
        model.idf = arrays["idf"].astype(np.float32)
        model.avg_len = float(params["avg_len"])
        return model
