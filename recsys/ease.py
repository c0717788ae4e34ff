"""EASE (Steck, 2019): a closed-form item-to-item regression on who bought what.

B = I - P / diag(P) with P = (XᵀX + λI)⁻¹, X the binary users × items matrix, so an item is scored
by the items the user bought, each counting with the weight that best reconstructed co-purchases
across all users. Items bought by fewer than two users carry no co-purchase signal and, past
`max_items`, only the most bought are modelled (the inverse costs items³); only each item's
`neighbours` largest weights are kept, so the saved model stays small and scoring stays sparse.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy import sparse
from scipy.linalg import lapack
from threadpoolctl import threadpool_limits

from recsys.base import Arrays, History, Recommender
from recsys.data import Interactions, row_positions


class EASERecommender(Recommender):
    """Item-to-item weights solved in closed form from the co-purchase Gram matrix."""

    kind: ClassVar[str] = "ease"

    def __init__(self, regularization: float = 300.0, max_items: int = 6000, neighbours: int = 256) -> None:
        self.regularization = regularization
        self.max_items = max_items
        self.neighbours = neighbours
        self.weights = sparse.csr_matrix((0, 0), dtype=np.float32)

    @property
    def n_items(self) -> int:  # type: ignore[override]
        """How many items the model knows."""
        return self.weights.shape[0]

    def fit(self, data: Interactions) -> EASERecommender:
        """Solve B on the modelled items (Cholesky inverse, float32, one BLAS thread) and prune it."""
        x = data.user_items.copy()
        x.data[:] = 1.0
        buyers = np.bincount(x.indices, minlength=data.n_items)
        keep = np.flatnonzero(buyers >= 2)
        if len(keep) > self.max_items:
            keep = keep[np.argsort(-buyers[keep], kind="stable")[:self.max_items]]
            keep.sort()
        n = data.n_items
        if len(keep) < 2:
            self.weights = sparse.csr_matrix((n, n), dtype=np.float32)
            return self
        xk = x.tocsc()[:, keep].astype(np.float32)
        with threadpool_limits(1, "blas"):
            # by column blocks: the full sparse product holds up to items² entries before it is densified
            xt = xk.T.tocsr()
            gram = np.empty((len(keep), len(keep)), np.float32)
            for start in range(0, len(keep), 1024):
                gram[:, start:start + 1024] = (xt @ xk[:, start:start + 1024]).toarray()
            gram[np.diag_indices_from(gram)] += self.regularization
            chol, info = lapack.spotrf(gram, lower=1, overwrite_a=1)
            if info != 0:
                raise ValueError(f"EASE: Gram matrix not positive definite (info={info}); raise regularization")
            p, info = lapack.spotri(chol, lower=1, overwrite_c=1)
        del gram
        # in place and by row blocks: full-size temporaries (and an items² int64 argpartition) were
        # most of a 6,000-item fit's peak memory
        lower = np.tril_indices(len(keep), -1)
        p[lower[1], lower[0]] = p[lower]
        del lower
        p /= -np.diag(p).copy()[None, :]
        np.fill_diagonal(p, 0.0)
        k = min(self.neighbours, len(keep) - 1)
        rows_l, cols_l, vals_l = [], [], []
        for start in range(0, len(keep), 1024):
            block = p[start:start + 1024]
            top = np.argpartition(-block, k - 1, axis=1)[:, :k]
            val = np.take_along_axis(block, top, axis=1)
            good = val > 0  # negative weights only ever push items down; dropping them keeps B sparse
            rows_l.append(np.repeat(keep[start:start + 1024], good.sum(axis=1)))
            cols_l.append(keep[top[good]])
            vals_l.append(val[good].astype(np.float32))
        del p
        self.weights = sparse.csr_matrix((np.concatenate(vals_l), (np.concatenate(rows_l), np.concatenate(cols_l))),
                                         shape=(n, n))
        self.weights.sort_indices()
        return self

    def scores(self, user: int | None, history: History) -> np.ndarray:
        """Sum of the weights from each distinct item the user bought."""
        if not len(history):
            return np.zeros(self.n_items, np.float32)
        return self.scores_from_items(np.unique(np.concatenate(list(history))))

    def scores_from_items(self, items: np.ndarray) -> np.ndarray:
        """Sum of the weights from these distinct items."""
        items = items[items < self.n_items]
        w = self.weights
        idx, _ = row_positions(w.indptr, items)
        if not len(idx):
            return np.zeros(self.n_items, np.float32)
        return np.bincount(w.indices[idx], weights=w.data[idx], minlength=self.n_items).astype(np.float32)

    def similar_items(self, item: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The items the model weighs most from `item`."""
        row = self.weights[item]
        order = np.argsort(-row.data, kind="stable")[:k]
        return row.indices[order].astype(np.int64), row.data[order]

    def state(self) -> tuple[Arrays, dict[str, Any]]:
        """The pruned weight matrix."""
        w = self.weights
        return ({"indptr": w.indptr, "indices": w.indices, "data": w.data},
                {"regularization": self.regularization, "max_items": self.max_items,
                 "neighbours": self.neighbours, "n_items": w.shape[0]})

    @classmethod
    def from_state(cls, arrays: Arrays, params: dict[str, Any]) -> EASERecommender:
        """Rebuild from `state()`."""
        model = cls(float(params["regularization"]), int(params["max_items"]), int(params["neighbours"]))
        n = int(params["n_items"])
        model.weights = sparse.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=(n, n))
        return model
