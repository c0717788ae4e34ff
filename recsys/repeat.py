"""The user's own repeat purchases: in real shops most of the next basket is items bought before.

Each basket the user bought an item in counts `decay ** age` (age 0 = the latest basket), so with
`decay=1` this is plain frequency ("the user's own most bought") and below 1 recent habits outweigh
old ones. Scores are divided by the total weight of the user's baskets: the share of (recent)
baskets that held the item, in [0, 1], comparable across users.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from recsys.base import Arrays, History, Recommender
from recsys.data import Interactions


def decayed_profile(history: History, n_items: int, decay: float) -> np.ndarray:
    """Per item, the decayed share of the user's baskets that held it."""
    n = len(history)
    if n == 0:
        return np.zeros(n_items, np.float32)
    weights = decay ** np.arange(n - 1, -1, -1, dtype=np.float64)
    sizes = np.fromiter((len(b) for b in history), np.int64, n)
    items = np.concatenate(history) if n > 1 else np.asarray(history[0])
    w = np.repeat(weights, sizes)
    valid = items < n_items  # items added after training have no column
    out = np.bincount(items[valid], weights=w[valid], minlength=n_items) / weights.sum()
    return out.astype(np.float32)


class RepeatRecommender(Recommender):
    """Frequency of the item in the user's baskets, with recency decay; ties go to the more recent."""

    kind: ClassVar[str] = "repeat"

    def __init__(self, decay: float = 1.0, n_items: int = 0, fill_popular: bool = True) -> None:
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"decay must be in (0, 1], got {decay}")
        self.decay = decay
        self.n_items = n_items
        self.fill_popular = fill_popular
        self.popular = np.zeros(n_items, np.float32)

    def fit(self, data: Interactions) -> RepeatRecommender:
        """The history is the model; popularity only fills the list when the user bought too few items."""
        self.n_items = data.n_items
        buyers = np.bincount(data.user_items.indices, minlength=data.n_items).astype(np.float32)
        self.popular = buyers / max(float(buyers.max(initial=0.0)), 1.0)
        return self

    def scores(self, user: int | None, history: History) -> np.ndarray:
        """Decayed frequency, plus a recency tie-break far below one basket's weight."""
        s = decayed_profile(history, self.n_items, self.decay)
        if history:
            s += 1e-4 * decayed_profile(history[-8:], self.n_items, 0.5)
        if self.fill_popular and len(self.popular) == len(s):
            s += 1e-7 * self.popular  # far below any bought item: only fills what is left
        return s

    def similar_items(self, item: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """A repeat model knows no item similarity."""
        return np.empty(0, np.int64), np.empty(0, np.float32)

    def state(self) -> tuple[Arrays, dict[str, Any]]:
        """Parameters and the popularity that fills short lists."""
        return {"popular": self.popular}, {"decay": self.decay, "n_items": self.n_items,
                                           "fill_popular": self.fill_popular}

    @classmethod
    def from_state(cls, arrays: Arrays, params: dict[str, Any]) -> RepeatRecommender:
        """Rebuild from `state()`."""
        model = cls(float(params["decay"]), int(params["n_items"]), bool(params["fill_popular"]))
        model.popular = arrays["popular"].astype(np.float32)
        return model
