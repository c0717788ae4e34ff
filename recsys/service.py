"""`RecommendationService`: the blend, the catalogue and the live room behind three questions.

`recommend` (what should this viewer see), `related` (what goes with this product) and
`pitch_next` (what the host could pitch next from the line-up). The model is one reference,
swapped whole (`swap`, `reload`, `train`) so a running server changes models without downtime:
each request reads the reference once and finishes on the model it started with.

Documented fallbacks: a user the model never saw gets popularity (re-ranked by the room), with
reason `popular`; a product the model never saw but the catalogue knows gets its category's
best sellers; `k` must be 1..`max_k` (InvalidInputError otherwise).
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections import ChainMap, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.errors import InvalidInputError, NotFoundError
from knowledge.room import RoomState
from knowledge.store import Store
from recsys.als import WEIGHTINGS
from recsys.base import top_k
from recsys.blend import BlendParams, BlendRecommender
from recsys.data import Interactions, frame_from_records, row_positions
from recsys.errors import ModelFormatError, PurchaseDataError, UnknownItemError
from recsys.rerank import Candidate, LiveWeights, rerank

MODEL_KIND = "recommender"


@dataclass
class Recommendation:
    """One recommended item, why, and its catalogue row (None when the catalogue does not know it)."""

    item_id: str
    score: float
    reason: str
    product: dict[str, Any] | None = None


def _pools(k: int) -> tuple[int, int]:
    """Candidates asked of the model for `k` results: a small pool, and the retry when filters leave too few."""
    pool = k + 8
    return pool, 5 * pool + 100


class RecommendationService:
    """Serve recommendations from a swappable blend model and the store's catalogue."""

    def __init__(self, store: Store, model: BlendRecommender | None = None, *, models_dir: Path | None = None,
                 params: BlendParams | None = None, max_k: int = 100, catalog_ttl_s: float = 5.0,
                 weights: LiveWeights = LiveWeights(), event_weights: dict[str, float] | None = None) -> None:
        self.store = store
        self.event_weights = event_weights  # None: widget events are not used in training
        self.models_dir = Path(models_dir) if models_dir else None
        self.params = params or BlendParams()
        self.max_k, self.catalog_ttl_s, self.weights = max_k, catalog_ttl_s, weights
        self._model = model
        self.version: str | None = None
        self._catalog: tuple[float, dict[str, dict[str, Any]]] = (0.0, {})
        self._train_lock = threading.Lock()
        # per model, answers that are the same for every request: best sellers, the on-stage item's neighbours
        self._memo: tuple[BlendRecommender | None, dict[Any, Any]] = (None, {})

    # ---- the model ----
    @property
    def model(self) -> BlendRecommender | None:
        """The model in use (read once per request)."""
        return self._model

    def describe(self) -> dict[str, Any] | None:
        """The live model's version, blend weights and how they were chosen (for /health)."""
        model = self._model
        if model is None:
            return None
        p = model.params
        return {"version": self.version, "weights": {n: getattr(p, n) for n in ("decay", "explore", "ease", "als",
                                                                                  "knn", "trial", "category")},
                "tuning": model.tuning_report or {"fixed": "weights given, not tuned"}}

    def swap(self, model: BlendRecommender, version: str | None = None) -> None:
        """Put a new model in service; requests already running finish on the old one."""
        self._attach_categories(model)
        self._model, self.version = model, version  # one reference assignment: atomic under the GIL

    def reload(self) -> str | None:
        """Load the store's active recommender version and swap it in; return its version."""
        active = self.store.active_model(MODEL_KIND)
        if active is None:
            raise NotFoundError("no recommender has been trained yet; run `cuecard recsys train`")
        self.swap(BlendRecommender.load(active["path"]), active["version"])
        return self.version

    def train(self, data: Interactions | None = None, tune: bool = False, progress: bool = False,
              metrics: dict[str, Any] | None = None, engine: str = "implicit") -> str:
        """Fit on `data` (default: the store's purchases), save, record as active, swap in; return the version."""
        with self._train_lock:
            if data is None:
                purchases = self.store.list_purchases()
                frame, _ = frame_from_records(purchases + self._event_records(purchases))
                data = Interactions.from_frame(frame)
            tuner = None
            if tune:
                from recsys.tuning import tune_blend

                def tuner(d: Interactions, p: BlendParams) -> tuple[BlendParams, dict[str, Any]]:
                    return tune_blend(d, p, progress=progress)
            model = BlendRecommender(self.params, tuner=tuner, progress=progress)
            if engine == "spark":  # the ALS part fitted by Spark MLlib; the artifact is the same
                from recsys.spark_als import SparkALSRecommender

                model.als_class = SparkALSRecommender
            elif engine != "implicit":
                raise InvalidInputError(f"unknown training engine {engine!r}: use 'implicit' or 'spark'")
            model.fit(data)
            version = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)  # unique even within a second
            if self.models_dir is not None:
                path = model.save(self.models_dir / MODEL_KIND / version,
                                  {"users": data.n_users, "items": data.n_items, "lines": data.n_lines})
                self.store.record_model(MODEL_KIND, version, str(path),
                                        {**(metrics or {}), **model.tuning_report.get("chosen", {})})
            self.swap(model, version)
            return version

    def _event_records(self, purchases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Widget events (click, add-to-cart, purchase) as implicit feedback: one extra basket per
        shopper, each item's quantity the shopper's weighted event sum (`event_weights`), placed
        after their purchases (next order number, now) so repeat and co-purchase models read it as
        their latest interest."""
        if self.event_weights is None:
            return []
        from knowledge.events import implicit_feedback

        feedback = implicit_feedback(self.store, self.event_weights)
        if not feedback:
            return []
        numbered = any(r.get("order_no") is not None for r in purchases)
        last: dict[str, int] = {}
        for r in purchases:
            if r.get("order_no") is not None:
                last[r["user_id"]] = max(last.get(r["user_id"], 0), int(r["order_no"]))
        now = time.time()
        return [{"user_id": u, "item_id": i, "basket_id": f"widget-events:{u}",
                 "order_no": last.get(u, 0) + 1 if numbered else None, "ts": now, "quantity": w}
                for u, i, w in feedback]

    def start(self) -> RecommendationService:
        """Load the active model; else train on the store's purchases if there are any (seconds)."""
        try:
            self.reload()
        except (NotFoundError, ModelFormatError):
            if self.store.count_purchases():
                # nothing usable: serve the catalogue fallback until purchases arrive
                with contextlib.suppress(PurchaseDataError):
                    self.train()
        return self

    # ---- catalogue ----
    def products(self) -> dict[str, dict[str, Any]]:
        """Catalogue rows by id, re-read at most every `catalog_ttl_s` seconds."""
        rows = self._catalog[1]
        if not self.catalog_fresh():
            rows = {p["id"]: p for p in self.store.list_products()}
            self._catalog = (time.monotonic(), rows)
        return rows

    def catalog_fresh(self) -> bool:
        """Whether `products()` would answer from memory now (no store read)."""
        return time.monotonic() - self._catalog[0] <= self.catalog_ttl_s

    def invalidate_catalog(self) -> None:
        """Forget the cached catalogue (after a stock or product change)."""
        self._catalog = (0.0, {})

    def _attach_categories(self, model: BlendRecommender) -> None:
        if model.data is None:
            return
        catalog = self.products()
        model.popularity.set_categories([(catalog.get(i) or {}).get("category") for i in model.data.item_ids])

    # ---- questions ----
    def _check_k(self, k: int) -> int:
        if not isinstance(k, int) or k < 1 or k > self.max_k:
            raise InvalidInputError(f"k must be between 1 and {self.max_k}, got {k!r}")
        return k

    def _personal(self, model: BlendRecommender, user_id: str, pool: int) -> tuple[list[Candidate], np.ndarray]:
        """The model's candidates for a user, each with the reason the model proposes it; and the repeat scores."""
        assert model.data is not None
        dense, history = model.history(user_id)
        parts = model.parts(dense, history)
        ids, scores = model.top(parts, pool)
        p = model.params
        personal = sum((getattr(p, n) * parts[n][ids] for n in ("ease", "als", "knn") if n in parts),
                       np.zeros(len(ids), np.float32))
        repeat = parts["repeat"][ids] > 0
        # "bought together" = a basket neighbour of something in the user's last two baskets
        recent = np.concatenate([b[:20] for b in history[-2:]]) if history else np.empty(0, np.int64)
        sim = model.knn.sim
        if len(recent) and sim.shape[0]:
            recent = recent[recent < sim.shape[0]]
            mask = np.zeros(sim.shape[0], bool)
            mask[sim.indices[row_positions(sim.indptr, recent)[0]]] = True
            together = mask[ids]
        else:
            together = np.zeros(len(ids), bool)
        personal_wins = repeat | ((personal > p.trial * parts["trial"][ids]) & ~together)
        # plain Python over the ~k items: cheaper than numpy string arrays at this size
        reasons = ["because_you_bought" if won else "bought_together" if tog else "popular"
                   for won, tog in zip(personal_wins.tolist(), together.tolist(), strict=True)]
        names = model.data.item_ids[ids].tolist()
        out = [Candidate(n, sc, r) for n, sc, r in zip(names, scores.tolist(), reasons, strict=True)]
        return out, parts["repeat"]

    def _popular(self, model: BlendRecommender | None, pool: int) -> list[Candidate]:
        if model is None or model.data is None:
            # no purchases yet: the catalogue in stock, most stocked first
            rows = sorted(self.products().values(), key=lambda p: (-int(p.get("stock") or 0), p["id"]))
            return [Candidate(p["id"], 0.0, "popular") for p in rows[:pool]]
        memo = self._memo_of(model)
        best = memo.get("popular")
        if best is None:
            # the largest pool any request asks for; `top_k` orders by (score, id), so a prefix is exact
            ids, scores = top_k(model.popularity.counts, _pools(self.max_k)[1])
            best = memo["popular"] = [Candidate(str(model.data.item_ids[i]), float(s), "popular")
                                      for i, s in zip(ids.tolist(), scores.tolist(), strict=True)]
        return best[:pool]

    def _with_on_stage(self, model: BlendRecommender | None, on_stage: str | None) -> dict[str, float]:
        if model is None or model.data is None or on_stage is None or on_stage not in model.data.item_index:
            return {}
        memo = self._memo_of(model)
        found = memo.get(("on_stage", on_stage))
        if found is None:
            ids, sims = model.knn.similar_items(model.data.item_index[on_stage], 20)
            found = memo[("on_stage", on_stage)] = {str(model.data.item_ids[i]): float(s)
                                                    for i, s in zip(ids.tolist(), sims.tolist(), strict=True)}
        return found

    def _memo_of(self, model: BlendRecommender) -> dict[Any, Any]:
        """The memo of `model`, started afresh when another model is in service."""
        held, memo = self._memo
        if held is not model:
            memo = {}
            self._memo = (model, memo)  # one tuple assignment: readers see the old pair or the new
        return memo

    def _finish(self, ranked: list[Candidate], catalog: Mapping[str, dict[str, Any]]) -> list[Recommendation]:
        return [Recommendation(c.item_id, c.score, c.reason, catalog.get(c.item_id)) for c in ranked]

    def recommend(self, user_id: str, k: int = 10, room: RoomState | None = None,
                  room_interest: dict[str, float] | None = None) -> list[Recommendation]:
        """The viewer's `k` best items, re-ranked by the room when one is given (popularity for new users)."""
        self._check_k(k)
        model = self._model
        # a small pool keeps the per-request Python work small; when filters (stock, bought
        # non-consumables) leave fewer than k, ask again with a much larger one
        pool, retry = _pools(k)
        ranked, catalog = self._ranked(model, user_id, k, pool, room, room_interest)
        if len(ranked) < k:
            ranked, catalog = self._ranked(model, user_id, k, retry, room, room_interest)
        return self._finish(ranked, catalog)

    def _ranked(self, model: BlendRecommender | None, user_id: str, k: int, pool: int, room: RoomState | None,
                room_interest: dict[str, float] | None) -> tuple[list[Candidate], Mapping[str, dict[str, Any]]]:
        catalog: Mapping[str, dict[str, Any]] = self.products()
        repeat = None
        if model is not None and model.data is not None and user_id and model.knows_user(user_id):
            candidates, repeat = self._personal(model, user_id, pool)
        else:
            candidates = self._popular(model, pool)
        on_stage, lineup = None, []
        if room is not None:
            on_stage, lineup = room.on_stage, room.lineup_ids
            catalog = ChainMap({p["id"]: p for p in room.lineup}, catalog)  # type: ignore[arg-type]  # the room's rows are the freshest
            # live products are candidates even when the model would not have proposed them
            candidates += [Candidate(pid, 0.0, "popular_in_room") for pid in lineup]
            candidates += [Candidate(pid, 0.0, "popular_in_room") for pid in (room_interest or {})]
        together = self._with_on_stage(model, on_stage)
        candidates += [Candidate(pid, 0.0, "bought_together") for pid in together]
        bought: set[str] = set()
        if repeat is not None and model is not None and model.data is not None and catalog:
            index = model.data.item_index
            bought = {c.item_id for c in candidates
                      if (j := index.get(c.item_id)) is not None and repeat[j] > 0}
        ranked = rerank(candidates, catalog, k, on_stage=on_stage, lineup=lineup, room_interest=room_interest,
                        with_on_stage=together, bought=bought, weights=self.weights)
        return ranked, catalog

    def related(self, product_id: str, k: int = 10) -> list[Recommendation]:
        """Items bought together with a product (its category's best sellers when the model never saw it)."""
        self._check_k(k)
        model = self._model
        catalog = self.products()
        candidates: list[Candidate] = []
        if model is not None and model.data is not None and product_id in model.data.item_index:
            ids, sims = model.similar_items(model.data.item_index[product_id], k + 20)
            candidates = [Candidate(str(model.data.item_ids[i]), float(s), "bought_together")
                          for i, s in zip(ids.tolist(), sims.tolist(), strict=True)]
        elif product_id not in catalog:
            raise UnknownItemError(f"product {product_id!r} is neither in the catalogue nor in the purchase history")
        category = (catalog.get(product_id) or {}).get("category")
        if len(candidates) < k and model is not None and model.data is not None and category:
            ids, counts = model.popularity.top_in_category(category, k + 20)
            candidates += [Candidate(str(model.data.item_ids[i]), float(c) * 1e-6, "popular")
                           for i, c in zip(ids.tolist(), counts.tolist(), strict=True)]
        if len(candidates) < k and category:
            candidates += [Candidate(p["id"], 0.0, "popular") for p in catalog.values()
                           if p.get("category") == category]
        candidates = [c for c in candidates if c.item_id != product_id]
        return self._finish(rerank(candidates, catalog, k, weights=self.weights), catalog)

    def pitch_next(self, room: RoomState, room_interest: dict[str, float] | None = None,
                   k: int = 3) -> list[Recommendation]:
        """What the host could pitch next from the line-up: asked about, bought with what is on stage, popular."""
        self._check_k(k)
        model = self._model
        lineup = [pid for pid in room.lineup_ids if pid != room.on_stage]
        catalog = {p["id"]: p for p in room.lineup}
        popular: dict[str, float] = {}
        if model is not None and model.data is not None:
            counts = model.popularity.counts
            popular = {pid: float(counts[model.data.item_index[pid]]) for pid in lineup
                       if pid in model.data.item_index}
        candidates = [Candidate(pid, popular.get(pid, 0.0), "popular") for pid in lineup]
        interest = {pid: w for pid, w in (room_interest or {}).items() if pid in lineup}
        together = {pid: s for pid, s in self._with_on_stage(model, room.on_stage).items() if pid in lineup}
        weights = LiveWeights(on_stage=0.0, lineup=0.0, interest=self.weights.interest,
                              with_on_stage=self.weights.with_on_stage)
        ranked = rerank(candidates, catalog, k, lineup=lineup, room_interest=interest, with_on_stage=together,
                        weights=weights)
        return self._finish(ranked, catalog)

    # ---- fresh purchases ----
    def add_purchases(self, rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
        """Store purchases and make each buyer's fresh baskets count at once (no retrain)."""
        lines = [dict(r) for r in rows]
        stored = self.store.add_purchases(lines)
        baskets: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for i, r in enumerate(lines):
            key = str(r.get("basket_id") or r.get("order_no") or r.get("ts") or f"row{i}")
            baskets[str(r["user_id"])][key].append(str(r["item_id"]))
        model = self._model
        known_items = 0
        if model is not None and model.data is not None:
            for user_id, by_basket in baskets.items():
                known_items += model.recalculate_user(user_id, list(by_basket.values()))
        return {"stored": stored, "users": len(baskets), "known_items": known_items}


def blend_params(settings: Any) -> BlendParams:
    """The blend's parameters with the ALS hyper-parameters of the settings (`CUECARD_ALS_*`)."""
    if settings.als_weighting not in WEIGHTINGS:
        raise InvalidInputError(f"CUECARD_ALS_WEIGHTING must be one of {', '.join(WEIGHTINGS)}, "
                                f"got {settings.als_weighting!r}")
    return BlendParams(als_factors=settings.als_factors, als_iterations=settings.als_iterations,
                       als_regularization=settings.als_regularization, als_alpha=settings.als_alpha,
                       als_weighting=settings.als_weighting)


def build_recommender(store: Store, settings: Any) -> RecommendationService:
    """The service for an app: the store's active model, else a quick fit on the store's purchases."""
    return RecommendationService(store, models_dir=settings.models_dir, params=blend_params(settings),
                                 event_weights=getattr(settings, "event_weights", None)).start()
