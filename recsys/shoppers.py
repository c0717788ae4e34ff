"""`ShopperService`: replenishment, segments and profiles over the store's purchases, precomputed per shopper.

The store's purchases are read and both models fitted once (`refresh`), then again when the
purchase count has changed and `ttl_s` has passed; every profile is a precomputed dict, so
`profile()` is a dict lookup (the serving bench's 10 ms p99 target). `forget` removes a shopper
everywhere at once (privacy): purchases, widget events, the precomputed rows and the live
recommender's rows, without a refit.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import delete

from knowledge.errors import NotFoundError
from knowledge.store import Store, metadata
from recsys.replenish import Replenishment, ReplenishmentError, Timeline, timeline_from_records
from recsys.segments import Segmenter, SegmentSettings


class ShopperService:
    """Due items, segments and profiles for the store's shoppers."""

    def __init__(self, store: Store, settings: SegmentSettings = SegmentSettings(), ttl_s: float = 30.0,
                 recommender: Any = None) -> None:
        self.store, self.settings, self.ttl_s, self.recommender = store, settings, ttl_s, recommender
        self._lock = threading.Lock()
        self._state: tuple[float, int, Replenishment | None, Segmenter | None, dict[str, dict[str, Any]],
                           str | None] = (0.0, -1, None, None, {}, None)

    def fresh(self) -> bool:
        """Whether `profile()` would answer from memory now (no store read, no refit)."""
        at, _, rep, *_ = self._state
        return rep is not None and time.monotonic() - at < self.ttl_s

    def refresh(self, force: bool = False) -> None:
        """Refit from the store when purchases changed (at most every `ttl_s` unless `force`)."""
        at, count, *_ = self._state
        if not force and time.monotonic() - at < self.ttl_s:
            return
        with self._lock:
            n = self.store.count_purchases()
            if not force and n == count:
                self._state = (time.monotonic(), *self._state[1:])  # type: ignore[assignment]
                return
            rep, seg, profiles, reason = None, None, {}, None
            if n:
                try:
                    timeline = timeline_from_records(self.store.list_purchases())
                    rep, seg = Replenishment().fit(timeline), Segmenter(self.settings).fit(timeline)
                    profiles = self._profiles(timeline, rep, seg)
                except ReplenishmentError as exc:
                    reason = str(exc)
            else:
                reason = "no purchases are stored"
            self._state = (time.monotonic(), n, rep, seg, profiles, reason)

    @staticmethod
    def _profiles(timeline: Timeline, rep: Replenishment, seg: Segmenter) -> dict[str, dict[str, Any]]:
        due: dict[str, list[dict[str, Any]]] = {}
        for d in rep.due(within=None):
            due.setdefault(d.user_id, []).append(d.public())
        out = {}
        for p in seg.profiles():
            row = p.public()
            row["unit"] = timeline.unit
            row["due"] = due.get(p.user_id, [])[:10]
            out[p.user_id] = row
        return out

    def _ready(self) -> tuple[Replenishment, Segmenter, dict[str, dict[str, Any]]]:
        self.refresh()
        _, _, rep, seg, profiles, reason = self._state
        if rep is None or seg is None:
            raise ReplenishmentError(f"no due dates or segments: {reason}")
        return rep, seg, profiles

    def profile(self, user_id: str) -> dict[str, Any]:
        """Segment, churn risk, last purchases and due items of a shopper (NotFoundError when unknown)."""
        _, _, profiles = self._ready()
        row = profiles.get(user_id)
        if row is None:
            raise NotFoundError(f"no purchases of user {user_id!r}")
        return row

    def due(self, user_id: str | None = None, within: float | None = 7.0, limit: int | None = None) -> dict[str, Any]:
        """Items due within `within` (one shopper's, or the outreach list), most confident first per due time."""
        rep, _, profiles = self._ready()
        if user_id is not None and user_id not in profiles:
            raise NotFoundError(f"no purchases of user {user_id!r}")
        rows = rep.due(within, user_id, limit)
        return {"unit": rep.unit, "within": within, "items": [d.public() for d in rows]}

    def segments(self) -> dict[str, Any]:
        """Counts per segment and risk, the thresholds used, and the shoppers at risk first."""
        _, seg, _ = self._ready()
        return {"unit": seg.unit, "settings": self.settings.__dict__, "counts": seg.counts(),
                "shoppers": [p.public() for p in seg.profiles()[:100]]}

    def forget(self, user_id: str) -> dict[str, int]:
        """Delete a shopper's purchases and events and drop them from every live model at once."""
        removed: dict[str, int] = {}
        with self.store.engine.begin() as conn:
            for name in ("purchases", "widget_events", "shopper_links"):
                table = metadata.tables.get(name)
                if table is not None and "user_id" in table.c:
                    removed[name] = int(conn.execute(delete(table).where(table.c.user_id == user_id)).rowcount or 0)
        with self._lock:
            at, count, rep, seg, profiles, reason = self._state
            if rep is not None:
                rep.forget_user(user_id)
            if seg is not None:
                seg.forget_user(user_id)
            profiles = {u: p for u, p in profiles.items() if u != user_id}
            self._state = (at, count - removed.get("purchases", 0), rep, seg, profiles, reason)
        removed["recommender"] = int(forget_in_recommender(self.recommender, user_id))
        return removed


def forget_in_recommender(service: Any, user_id: str) -> bool:
    """Make the live blend treat `user_id` as never seen (popularity), without a retrain.

    The blend has no forget method yet: its fresh baskets for the user go, and the user's trained row
    is unmapped, so no request reaches it; the trained item-item statistics keep the user's baskets
    until the next retrain (which no longer sees them, since the purchases are deleted).
    """
    model = getattr(service, "model", None)
    data = getattr(model, "data", None)
    if model is None or data is None:
        return False
    known = bool(model.knows_user(user_id))
    with model._lock:
        model._fresh.pop(user_id, None)
        data.user_index.pop(user_id, None)
    return known


def build_shoppers(store: Store, settings: Any, recommender: Any = None) -> ShopperService:
    """The service for an app, with the RFM thresholds of the settings (`CUECARD_SEGMENT_*`)."""
    thresholds = SegmentSettings(active_days=settings.segment_active_days, sleeping_days=settings.segment_sleeping_days,
                                 loyal_orders=settings.segment_loyal_orders,
                                 loyal_window_days=settings.segment_loyal_window_days,
                                 high_value_share=settings.segment_high_value_share)
    return ShopperService(store, thresholds, ttl_s=settings.shoppers_refresh_s, recommender=recommender)
