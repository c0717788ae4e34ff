"""Item-to-item "bought together": how often two items share a basket, normalised, top neighbours kept.

sim(i, j) = together(i, j) / (n_i ** alpha * n_j ** (1 - alpha)), with `n` the baskets holding each
item; alpha = 0.5 is cosine. Only each item's `neighbours` best are kept, so scoring a user costs a
few sparse rows. A user's score for an item sums its similarity to what the user bought, weighted
by the decayed share of baskets (`repeat.decayed_profile`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy import sparse

from recsys.base import Arrays, History, Recommender
from recsys.data import Interactions, row_positions
from recsys.repeat import decayed_profile


class ItemKNNRecommender(Recommender):
    """Bought-together neighbours from baskets."""

    kind: ClassVar[str] = "item_knn"

    def __init__(self, neighbours: int = 100, alpha: float = 0.5, decay: float = 1.0,
                 progress: bool = False) -> None:
        self.neighbours = neighbours
        self.alpha = alpha
        self.decay = decay
        self.progress = progress
        self.sim = sparse.csr_matrix((0, 0), dtype=np.float32)

    @property
    def n_items(self) -> int:  # type: ignore[override]
        """How many items the model knows."""
        return self.sim.shape[0]

    def fit(self, data: Interactions) -> ItemKNNRecommender:
        """Count co-occurrences as one sparse product and keep each item's top neighbours.

        Sparse throughout: memory and time follow the co-purchase pairs, not items² (a dense block
        per item range cost 10 s and most of the RSS on a 21,000-item shop).
        """
        b = data.basket_matrix
        n = data.n_items
        per_item = np.asarray(b.sum(axis=0)).ravel().astype(np.float64)
        together = (b.T.tocsr() @ b).tocoo()
        off = together.row != together.col
        rows, cols = together.row[off].astype(np.int64), together.col[off].astype(np.int64)
        vals = (together.data[off] / (np.maximum(per_item[rows], 1) ** self.alpha
                                      * np.maximum(per_item[cols], 1) ** (1 - self.alpha))).astype(np.float32)
        keep = vals > 0
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
        order = np.lexsort((cols, -vals, rows))  # by item, best neighbour first, ties by id
        rows, cols, vals = rows[order], cols[order], vals[order]
        starts = np.searchsorted(rows, np.arange(n))
        rank = np.arange(len(rows)) - starts[rows]
        top = rank < min(self.neighbours, max(n - 1, 1))
        self.sim = sparse.csr_matrix((vals[top], (rows[top], cols[top])), shape=(n, n), dtype=np.float32)
        self.sim.sort_indices()
        return self

    def scores_from_profile(self, profile_items: np.ndarray, profile_weights: np.ndarray) -> np.ndarray:
        """Sum of neighbour similarities, weighted by the profile, over every item."""
        out = np.zeros(self.n_items, np.float32)
        if len(profile_items) == 0:
            return out
        s = self.sim
        idx, lens = row_positions(s.indptr, profile_items)
        # bincount sums repeated targets far faster than np.add.at
        return np.bincount(s.indices[idx], weights=s.data[idx] * np.repeat(profile_weights, lens),
                           minlength=self.n_items).astype(np.float32)

    def scores(self, user: int | None, history: History) -> np.ndarray:
        """Bought-together score of every item with the user's (decayed) purchases."""
        profile = decayed_profile(history, self.n_items, self.decay)
        items = np.flatnonzero(profile)
        return self.scores_from_profile(items, profile[items])

    def similar_items(self, item: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The items most often bought together with `item`."""
        row = self.sim[item]
        order = np.argsort(-row.data, kind="stable")[:k]
        return row.indices[order].astype(np.int64), row.data[order]

    def state(self) -> tuple[Arrays, dict[str, Any]]:
        """The sparse neighbour matrix."""
        s = self.sim
        return ({"indptr": s.indptr, "indices": s.indices, "data": s.data},
                {"neighbours": self.neighbours, "alpha": self.alpha, "decay": self.decay, "n_items": s.shape[0]})

    @classmethod
    def from_state(cls, arrays: Arrays, params: dict[str, Any]) -> ItemKNNRecommender:
        """Rebuild from `state()`."""
        model = cls(int(params["neighbours"]), float(params["alpha"]), float(params["decay"]))
        n = int(params["n_items"])
        model.sim = sparse.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=(n, n))
        return model
