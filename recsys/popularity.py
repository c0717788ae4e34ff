"""Popularity, global and per category: what a shopper we know nothing about most likely buys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from recsys.base import Arrays, History, Recommender, top_k
from recsys.data import Interactions


class PopularityRecommender(Recommender):
    """Items by how many distinct users bought them; optionally ranked within a category."""

    kind: ClassVar[str] = "popularity"

    def __init__(self) -> None:
        self.counts = np.zeros(0, np.float32)
        self.category = np.zeros(0, np.int32)  # category code per item, -1 when unknown
        self.category_names: list[str] = []

    @property
    def n_items(self) -> int:  # type: ignore[override]
        """How many items the model knows."""
        return len(self.counts)

    def fit(self, data: Interactions) -> PopularityRecommender:
        """Count distinct buyers per item."""
        ui = data.user_items
        self.counts = np.bincount(ui.indices, minlength=data.n_items).astype(np.float32)
        self.category = np.full(data.n_items, -1, np.int32)
        return self

    def set_categories(self, categories: Sequence[str | None]) -> None:
        """Attach a category to each dense item (e.g. from the product catalogue)."""
        names = sorted({c for c in categories if c})
        code = {c: i for i, c in enumerate(names)}
        self.category_names = names
        self.category = np.array([code.get(c, -1) if c else -1 for c in categories], np.int32)

    @property
    def normalized(self) -> np.ndarray:
        """Popularity scaled to [0, 1]."""
        top = float(self.counts.max()) if len(self.counts) else 0.0
        return self.counts / top if top > 0 else self.counts

    def scores(self, user: int | None, history: History) -> np.ndarray:
        """The same ranking for everyone: buyers per item."""
        return self.counts

    def top_in_category(self, category: str, k: int = 10,
                        exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The most bought items of one category (empty when the category is unknown)."""
        if category not in self.category_names:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        s = np.where(self.category == self.category_names.index(category), self.counts, -np.inf)
        return top_k(s.astype(np.float32), k, exclude)

    def similar_items(self, item: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The most bought items of the same category (all items when it has none)."""
        cat = self.category[item] if len(self.category) else -1
        s = np.where(self.category == cat, self.counts, -np.inf) if cat >= 0 else self.counts.copy()
        return top_k(s.astype(np.float32), k, np.array([item]))

    def state(self) -> tuple[Arrays, dict[str, Any]]:
        """Counts and categories."""
        return {"counts": self.counts, "category": self.category}, {"category_names": self.category_names}

    @classmethod
    def from_state(cls, arrays: Arrays, params: dict[str, Any]) -> PopularityRecommender:
        """Rebuild from `state()`."""
        model = cls()
        model.counts = arrays["counts"].astype(np.float32)
        model.category = arrays["category"].astype(np.int32)
        model.category_names = list(params.get("category_names", []))
        return model


def trial_counts(data: Interactions) -> np.ndarray:
    """Per item, how many users bought it for the first time after their first basket.

    Cross-sell is about items a shopper has never bought: what other shoppers tried for the first
    time predicts that better than raw sales, which staples bought every week dominate.
    """
    n_b = np.diff(data.user_ptr)
    rank_in_user = np.arange(len(data.basket_ptr) - 1) - np.repeat(data.user_ptr[:-1], n_b)
    line_user = np.repeat(np.repeat(np.arange(data.n_users), n_b), np.diff(data.basket_ptr))
    line_rank = np.repeat(rank_in_user, np.diff(data.basket_ptr))
    keys = line_user.astype(np.int64) * data.n_items + data.basket_items
    _, first = np.unique(keys, return_index=True)  # lines are oldest first within a user
    tried = first[line_rank[first] > 0]
    return np.bincount(data.basket_items[tried], minlength=data.n_items).astype(np.float32)
