"""CueCard's production recommender: the user's own repeats first, then what they would try next.

    score = repeat + explore × (ease·EASE + als·ALS + knn·bought-together + trial·trial-popularity)

`repeat` is the decayed share of the user's baskets holding the item (most of a next basket is
items bought before); each explore part is scaled to [0, 1] per user so the weights mean the same
for every user. The weights are tuned on validation baskets carved from the training data
(`recsys.tuning`, passed in as the tuner: the model never imports its tuner), never on held-out ones. The model keeps its training baskets, so a user's
fresh purchases (`recalculate_user`) count at the next request without a retrain.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, ClassVar

import numpy as np

from recsys.als import ALSRecommender
from recsys.base import Arrays, History, Recommender, prefixed, top_k
from recsys.data import Interactions, row_positions
from recsys.ease import EASERecommender
from recsys.item_knn import ItemKNNRecommender
from recsys.popularity import PopularityRecommender, trial_counts

PARTS = ("ease", "als", "knn", "trial")
# (training data, starting parameters) → (tuned parameters, report): `recsys.tuning.tune_blend`
Tuner = Callable[[Interactions, "BlendParams"], tuple["BlendParams", dict[str, Any]]]


@dataclass
class BlendParams:
    """Weights of the blend and the hyper-parameters of its parts (defaults: tuned on Instacart validation)."""

    decay: float = 0.85
    explore: float = 0.05
    ease: float = 1.0
    als: float = 0.2
    knn: float = 0.2
    trial: float = 0.0
    category: float = 0.0  # trial popularity within the categories the shopper buys from (with categories)
    ease_regularization: float = 150.0
    ease_max_items: int = 6000
    ease_neighbours: int = 256
    knn_neighbours: int = 100
    als_factors: int = 64
    als_iterations: int = 15
    als_regularization: float = 0.01
    als_alpha: float = 1.0
    als_weighting: str = "bm25"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> BlendParams:
        """Parameters from JSON, ignoring keys this version does not know."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})


def scaled(x: np.ndarray) -> np.ndarray:
    """Scores scaled to [0, 1] by the user's best (negative ones count as 0)."""
    top = float(x.max()) if len(x) else 0.0
    return np.maximum(x, 0.0) / top if top > 0 else np.zeros_like(x)


class BlendRecommender(Recommender):
    """Repeat purchases blended with EASE, ALS, bought-together and trial popularity."""

    kind: ClassVar[str] = "cuecard"
    als_class: type[ALSRecommender] = ALSRecommender  # SparkALSRecommender for `--engine spark`; same artifact

    def __init__(self, params: BlendParams | None = None, tuner: Tuner | None = None, progress: bool = False,
                 num_threads: int = 1, use_category: bool = True) -> None:
        self.params = params or BlendParams()
        self.use_category = use_category  # off: ignore the history's categories (to measure what they add)
        self.tuner, self.progress, self.num_threads = tuner, progress, num_threads
        self.tuning_report: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.popularity = PopularityRecommender()
        self.trial = np.zeros(0, np.float32)
        self.item_category: np.ndarray | None = None  # int32 code per item, -1 unknown (`--category-col`)
        self._category_pop = np.zeros(0, np.float32)
        # what every request shares, built by `_prepare` when the model is fitted or loaded
        self._trial_scaled = np.zeros(0, np.float32)
        self._explore_base = np.zeros(0, np.float32)
        self._stacked = (np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
        self.knn = ItemKNNRecommender()
        self.ease = EASERecommender()
        self.als = ALSRecommender()
        self.data: Interactions | None = None
        self._fresh: dict[str, list[np.ndarray]] = {}  # user id → baskets bought since training
        self._lock = threading.Lock()

    @property
    def n_items(self) -> int:  # type: ignore[override]
        """How many items the model knows."""
        return len(self.trial)

    # ---- training ----
    def fit(self, data: Interactions) -> BlendRecommender:
        """Tune the weights with the tuner passed in (if any), then fit every part on all of `data`."""
        if not self.use_category:
            data = replace(data, item_category=None)
        if self.tuner is not None:
            started = time.perf_counter()
            self.params, self.tuning_report = self.tuner(data, self.params)
            self.timings["tuning"] = round(time.perf_counter() - started, 3)
        self.fit_parts(data)
        self.data = data
        return self

    def fit_parts(self, data: Interactions) -> BlendRecommender:
        """Fit the parts with the current parameters (no tuning); `timings` keeps seconds per part."""
        p = self.params
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            self.timings[name] = round(now - clock, 3)
            clock = now

        self.popularity = PopularityRecommender().fit(data)
        self.trial = trial_counts(data)
        self.item_category = data.item_category
        lap("popularity")
        self.knn = ItemKNNRecommender(p.knn_neighbours, progress=self.progress).fit(data)
        lap("item_knn")
        self.ease = EASERecommender(p.ease_regularization, p.ease_max_items, p.ease_neighbours).fit(data)
        lap("ease")
        self.als = self.als_class(p.als_factors, p.als_regularization, p.als_alpha, p.als_iterations,
                                  p.als_weighting, num_threads=self.num_threads, progress=self.progress).fit(data)
        lap("als")
        self.data = data
        self._prepare()
        return self

    def _prepare(self) -> None:
        """Build what every request shares, once, before the model serves: the scaled trial
        popularity (which breaks every tie), the explore base it gives, and the stacked rows of
        `_ease_knn`. Never lazily on a request: a swap's first request would pay for it (on the
        event loop, for requests served inline) and a concurrent one could see it half built."""
        self._trial_scaled = scaled(self.trial)
        self._explore_base = self.params.trial * self._trial_scaled + 1e-6 * self._trial_scaled
        self._stacked = self._neighbour_rows()
        self._category_pop = np.zeros(self.n_items, np.float32)
        cat = self.item_category
        if cat is not None and (cat >= 0).any():
            # within its category, an item's trial popularity (sales break ties) scaled by the category's best
            pop = self.trial + 1e-3 * self.popularity.counts
            known = cat >= 0
            best = np.zeros(int(cat.max()) + 1)
            np.maximum.at(best, cat[known], pop[known])
            self._category_pop[known] = pop[known] / np.maximum(best[cat[known]], 1e-9)

    # ---- scoring ----
    def _neighbour_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """EASE rows (0..n-1) and bought-together rows (n..2n-1) as one CSR (indptr, columns, data).

        Serving gathers both parts' rows for the same items: one gather and one `bincount` instead
        of two of each, with the same additions in the same order, so the scores are bit-identical.
        """
        n = self.n_items
        e, k = self.ease.weights, self.knn.sim
        indptr = np.concatenate((e.indptr, e.indptr[-1] + k.indptr[1:])).astype(np.int64)
        cols = np.concatenate((e.indices.astype(np.int64), k.indices.astype(np.int64) + n))
        return indptr, cols, np.concatenate((e.data, k.data)).astype(np.float32)

    def _profile(self, history: History) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The user's distinct known items, their share of baskets, and every item's decayed repeat score."""
        n = self.n_items
        if not len(history):
            return np.empty(0, np.int64), np.empty(0), np.zeros(n, np.float32)
        weights = self.params.decay ** np.arange(len(history) - 1, -1, -1, dtype=np.float64)
        flat = np.concatenate(list(history))
        w = np.repeat(weights, [len(b) for b in history])
        valid = flat < n  # items added after training have no column
        flat, w = flat[valid], w[valid]
        counts = np.bincount(flat, minlength=n)
        items = np.flatnonzero(counts > 0)  # on a bool array: several times faster than on counts
        # exactly `repeat.decayed_profile` (same additions in the same order), sharing its pass over the baskets
        repeat = (np.bincount(flat, weights=w, minlength=n) / weights.sum()).astype(np.float32)
        return items, counts[items] / len(history), repeat

    def parts(self, user: int | None, history: History) -> dict[str, np.ndarray]:
        """Each part's scores for this user: `repeat` as is, the explore parts scaled to [0, 1].

        Also `bought`: the distinct items the user bought (the only ones `repeat` scores).
        """
        p = self.params
        items, share, repeat = self._profile(history)
        out = {"repeat": repeat, "bought": items}  # `bought`: the items `repeat` scores
        # parts with zero weight are not computed: serving pays only for what the blend uses
        if p.ease or p.knn:
            # both are sums of positive weights (negative ones are pruned at fit): `scaled` clips nothing
            ease, knn = self._ease_knn(items, share.astype(np.float32))
            if p.ease:
                out["ease"] = scaled(ease)
            if p.knn:
                out["knn"] = scaled(knn)
        if p.als:
            out["als"] = scaled(self.als.scores(user, history))
        if p.category and self.item_category is not None:
            out["category"] = scaled(self._category_scores(history))
        out["trial"] = self._trial_scaled
        return out

    def _category_scores(self, history: History) -> np.ndarray:
        """Per item: the share of the shopper's baskets holding its category × its popularity within it."""
        cat = self.item_category
        assert cat is not None
        n_cat = int(cat.max()) + 1 if len(cat) else 0
        if not len(history) or n_cat == 0:
            return np.zeros(self.n_items, np.float32)
        per_basket = [np.unique(cat[b[b < len(cat)]]) for b in history]
        flat = np.concatenate(per_basket)
        share = np.bincount(flat[flat >= 0], minlength=n_cat) / len(history)
        return np.where(cat >= 0, share[np.maximum(cat, 0)], 0.0).astype(np.float32) * self._category_pop

    def _ease_knn(self, items: np.ndarray, share: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """EASE scores (sum of weights from the distinct items) and bought-together ones (weighted by share)."""
        n = self.n_items
        if not len(items):
            return np.zeros(n, np.float32), np.zeros(n, np.float32)
        indptr, cols, data = self._stacked
        rows = np.concatenate((items, items + n))
        idx, lens = row_positions(indptr, rows)
        # EASE rows weigh 1 (float32 × 1 is exact), bought-together rows the item's share of baskets
        row_weight = np.concatenate((np.ones(len(items), np.float32), share))
        both = np.bincount(cols[idx], weights=data[idx] * np.repeat(row_weight, lens), minlength=2 * n)
        return both[:n].astype(np.float32), both[n:].astype(np.float32)

    def combine(self, parts: dict[str, np.ndarray]) -> np.ndarray:
        """The blend of the parts (see module doc)."""
        p = self.params
        explore = self._explore_base  # trial popularity, which breaks every tie (see `_prepare`)
        for name in ("ease", "als", "knn", "category"):
            if name in parts:
                explore = explore + getattr(p, name) * parts[name]
        return parts["repeat"] + p.explore * explore

    def scores(self, user: int | None, history: History) -> np.ndarray:
        """Blended scores for every item."""
        return self.combine(self.parts(user, history))

    def top(self, parts: dict[str, np.ndarray], k: int,
            exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The best `k` of the blend of `parts`; the user's own purchases, which lead it, bound the search."""
        return top_k(self.combine(parts), k, exclude, likely=parts.get("bought"))

    def recommend(self, user: int | None, history: History, k: int = 10,
                  exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The user's `k` best items, best first, with scores; `exclude` items never come back."""
        return self.top(self.parts(user, history), k, exclude)

    def similar_items(self, item: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Bought together with `item`; EASE neighbours when it has no basket neighbours."""
        ids, s = self.knn.similar_items(item, k)
        if len(ids) == 0:
            ids, s = self.ease.similar_items(item, k)
        return ids, s

    # ---- users by external id, with purchases since training ----
    def history(self, user_id: str) -> tuple[int | None, list[np.ndarray]]:
        """(dense id if trained on and unchanged since, baskets oldest first) for an external user id."""
        assert self.data is not None, "fit or load the model first"
        dense = self.data.user_index.get(user_id)
        baskets = self.data.baskets(dense) if dense is not None else []
        fresh = self._fresh.get(user_id)
        if fresh:
            # a changed history invalidates the trained user factor: ALS recomputes it
            return None, baskets + fresh
        return dense, baskets

    def knows_user(self, user_id: str) -> bool:
        """Whether the model has any purchase of this user (trained on or recorded since)."""
        return self.data is not None and (user_id in self.data.user_index or user_id in self._fresh)

    def recalculate_user(self, user_id: str, baskets: list[list[str]]) -> int:
        """Add a user's fresh baskets (external item ids) so they count at once; return items kept."""
        assert self.data is not None, "fit or load the model first"
        index = self.data.item_index
        packed = [np.array([index[i] for i in b if i in index], np.int32) for b in baskets]
        packed = [b for b in packed if len(b)]
        with self._lock:  # copy-on-write: readers never see a half-appended list
            self._fresh[user_id] = self._fresh.get(user_id, []) + packed
        return int(sum(len(b) for b in packed))

    def recommend_user(self, user_id: str, k: int = 10,
                       exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top `k` for an external user id (popularity-led for a user never seen)."""
        return self.recommend(*self.history(user_id), k, exclude)

    # ---- persistence ----
    def state(self) -> tuple[Arrays, dict[str, Any]]:
        """Every part's arrays under its prefix, plus the training baskets."""
        assert self.data is not None, "fit the model before saving it"
        arrays: Arrays = {"trial": self.trial}
        if self.item_category is not None:
            arrays["item_category"] = self.item_category
        params: dict[str, Any] = {"blend": asdict(self.params), "tuning": self.tuning_report}
        for name, part in (("popularity", self.popularity), ("knn", self.knn), ("ease", self.ease),
                           ("als", self.als)):
            part_arrays, part_params = part.state()
            arrays.update({f"{name}.{k}": v for k, v in part_arrays.items()})
            params[name] = part_params
        d = self.data
        arrays.update({"data.user_ids": d.user_ids, "data.item_ids": d.item_ids, "data.user_ptr": d.user_ptr,
                       "data.basket_ptr": d.basket_ptr, "data.basket_items": d.basket_items,
                       "data.basket_qty": d.basket_qty})
        return arrays, params

    @classmethod
    def from_state(cls, arrays: Arrays, params: dict[str, Any]) -> BlendRecommender:
        """Rebuild from `state()`."""
        model = cls(BlendParams.from_dict(params["blend"]))
        model.tuning_report = dict(params.get("tuning") or {})
        model.trial = arrays["trial"].astype(np.float32)
        if "item_category" in arrays:
            model.item_category = arrays["item_category"].astype(np.int32)
        model.popularity = PopularityRecommender.from_state(prefixed(arrays, "popularity"), params["popularity"])
        model.knn = ItemKNNRecommender.from_state(prefixed(arrays, "knn"), params["knn"])
        model.ease = EASERecommender.from_state(prefixed(arrays, "ease"), params["ease"])
        model.als = ALSRecommender.from_state(prefixed(arrays, "als"), params["als"])
        d = prefixed(arrays, "data")
        model.data = Interactions(d["user_ids"], d["item_ids"], d["user_ptr"], d["basket_ptr"],
                                  d["basket_items"], d["basket_qty"], model.item_category)
        model._prepare()
        return model
