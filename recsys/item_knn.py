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
from tqdm.auto import tqdm

from recsys.base import Arrays, History, Recommender
from recsys.data import Interactions, row_positions
from recsys.repeat import decayed_profile


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype)


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
        """Count co-occurrences in blocks of items (bounded memory) and keep the top neighbours."""
        b = data.basket_matrix
        bt = b.T.tocsr()
        n = data.n_items
        per_item = np.asarray(b.sum(axis=0)).ravel().astype(np.float64)
        k = min(self.neighbours, max(n - 1, 1))
        block = max(1, int(2e7 // max(n, 1)))
        rows, cols, vals = [], [], []
        starts = range(0, n, block)
        for start in tqdm(starts, desc="item-knn", disable=not self.progress, unit="block"):
            stop = min(start + block, n)
            together = (bt[start:stop] @ b).toarray().astype(np.float32)
            together[np.arange(stop - start), np.arange(start, stop)] = 0.0
            denom = (np.maximum(per_item[start:stop, None], 1) ** self.alpha
                     * np.maximum(per_item[None, :], 1) ** (1 - self.alpha))
            sim = (together / denom).astype(np.float32)
            top = np.argpartition(-sim, k - 1, axis=1)[:, :k] if n > k else np.tile(np.arange(n), (stop - start, 1))
            val = np.take_along_axis(sim, top, axis=1)
            keep = val > 0
            rows.append(np.repeat(np.arange(start, stop), keep.sum(axis=1)))
            cols.append(top[keep])
            vals.append(val[keep])
        self.sim = sparse.csr_matrix((_cat(vals, np.float32), (_cat(rows, np.int64), _cat(cols, np.int64))),
                                     shape=(n, n))
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
