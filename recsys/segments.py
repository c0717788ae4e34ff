"""RFM segments and churn risk per shopper, from a `Timeline` (see `recsys.replenish`).

Segments (first that applies, thresholds in `SegmentSettings`):
- `sleeping`: no purchase for more than `sleeping_days`;
- `loyal`: at least `loyal_orders` baskets within the last `loyal_window_days`;
- `active`: bought within `active_days`;
- `lapsing`: in between (bought 7–30 days ago with the defaults).
`high_value` is a flag beside the segment: the top `high_value_share` of shoppers by spend.

Churn risk compares the time since the last basket with the shopper's own rhythm (median gap
between their baskets; the shop's median gap when they have fewer than two baskets) and whether
their order value is falling (mean of the last 3 baskets below `falling_ratio` × the earlier mean):
`high` when 3× overdue, or 2× overdue and falling; `medium` when 1.5× overdue or falling; else `low`.

Spend is the sum of the history's quantity column: pass the amount column there (`--spend-col`);
without one, each line counts 1. With times relative to each shopper's first order (a
days-between-orders column) nobody's recency is known, so everyone counts as just bought.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys.data import Columns
from recsys.replenish import Timeline, timeline_from_file

SEGMENTS = ("loyal", "active", "lapsing", "sleeping")
RISKS = ("high", "medium", "low")


@dataclass(frozen=True)
class SegmentSettings:
    """The thresholds shops use (days, or orders for an order-numbered history)."""

    active_days: float = 7.0
    sleeping_days: float = 30.0
    loyal_orders: int = 5
    loyal_window_days: float = 30.0
    high_value_share: float = 0.10
    falling_ratio: float = 0.7


@dataclass
class Profile:
    """One shopper's segment, churn risk and the figures behind them."""

    user_id: str
    segment: str
    high_value: bool
    risk: str
    orders: int
    recency: float  # time since the last basket
    rhythm: float | None  # the shopper's median gap between baskets (None: fewer than two baskets)
    spend: float
    falling: bool
    last_items: list[dict[str, Any]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """As a JSON-ready dict."""
        return {"user_id": self.user_id, "segment": self.segment, "high_value": self.high_value, "risk": self.risk,
                "orders": self.orders, "recency": round(self.recency, 1),
                "rhythm": None if self.rhythm is None else round(self.rhythm, 1), "spend": round(self.spend, 2),
                "falling_value": self.falling, "last_purchases": self.last_items}


def activity_from_file(path: Path | str, columns: Columns, gap_col: str | None = None,
                       spend_col: str | None = None) -> Timeline:
    """A `Timeline` whose quantity is the amount paid (`spend_col`), for `Segmenter`."""
    cols = Columns(columns.user, columns.item, columns.basket, columns.order, columns.time, spend_col)
    return timeline_from_file(path, cols, gap_col)


class Segmenter:
    """Segments and churn risk for every shopper of a timeline."""

    def __init__(self, settings: SegmentSettings = SegmentSettings(), last_n: int = 5) -> None:
        self.settings, self.last_n = settings, last_n
        self.unit = "days"
        self._profiles: dict[str, Profile] = {}

    def fit(self, timeline: Timeline) -> Segmenter:
        """Compute every shopper's profile (vectorised per basket; one Python pass over shoppers)."""
        s = self.settings
        self.unit = timeline.unit
        lines = timeline.lines
        baskets = (lines.groupby(["user", "b"], sort=False).agg(t=("t", "min"), spend=("quantity", "sum"))
                   .reset_index().sort_values(["user", "b"]))
        baskets["gap"] = baskets.groupby("user", sort=False)["t"].diff()
        shop_gap = float(baskets["gap"].median()) if baskets["gap"].notna().any() else s.sleeping_days
        now = baskets["user"].map(timeline.now).astype(float)
        baskets["age"] = now - baskets["t"]
        baskets["recent"] = (baskets["age"] <= s.loyal_window_days).astype(np.int64)
        from_end = baskets.groupby("user", sort=False).cumcount(ascending=False)
        baskets["tail_spend"] = baskets["spend"].where(from_end < 3)
        baskets["head_spend"] = baskets["spend"].where(from_end >= 3)
        per = baskets.groupby("user", sort=False)
        agg = pd.DataFrame({
            "orders": per.size(), "last": per["t"].max(), "spend": per["spend"].sum(),
            "rhythm": per["gap"].median(), "recent": per["recent"].sum(),
            "tail": per["tail_spend"].mean(), "head": per["head_spend"].mean(),
        })
        agg["recency"] = (agg.index.map(timeline.now).astype(float) - agg["last"]).clip(lower=0.0)
        # falling order value: the last 3 baskets' mean below `falling_ratio` × the earlier mean (4+ baskets)
        agg["falling"] = (agg["orders"] >= 4) & (agg["tail"] < s.falling_ratio * agg["head"])
        cut = float(agg["spend"].quantile(1 - s.high_value_share)) if len(agg) else 0.0
        n_high = max(1, int(round(len(agg) * s.high_value_share))) if len(agg) else 0
        top = set(agg["spend"].sort_values(ascending=False, kind="stable").index[:n_high]) if cut >= 0 else set()
        last_lines = (lines.sort_values(["user", "t"], ascending=[True, False], kind="stable")
                      .groupby("user", sort=False).head(self.last_n))
        recent_items: dict[str, list[dict[str, Any]]] = {}
        for u, item, t in zip(last_lines["user"], last_lines["item"], last_lines["t"], strict=True):
            recent_items.setdefault(str(u), []).append({"item_id": str(item), "t": round(float(t), 1)})
        profiles = {}
        for r in agg.itertuples():
            rhythm = None if pd.isna(r.rhythm) or r.rhythm <= 0 else float(r.rhythm)
            recency = float(r.recency)
            if recency > s.sleeping_days:
                segment = "sleeping"
            elif r.recent >= s.loyal_orders:
                segment = "loyal"
            elif recency <= s.active_days:
                segment = "active"
            else:
                segment = "lapsing"
            overdue = recency / max(rhythm or shop_gap, 1e-6)
            falling = bool(r.falling)
            risk = ("high" if overdue >= 3 or (overdue >= 2 and falling)
                    else "medium" if overdue >= 1.5 or falling else "low")
            uid = str(r.Index)
            profiles[uid] = Profile(uid, segment, uid in top, risk, int(r.orders), recency, rhythm,
                                    float(r.spend), falling, recent_items.get(uid, []))
        self._profiles = profiles
        return self

    def profile(self, user_id: str) -> Profile | None:
        """One shopper's profile (None when unknown)."""
        return self._profiles.get(user_id)

    def profiles(self) -> list[Profile]:
        """Every profile, highest churn risk first, then the biggest spenders."""
        order = {r: i for i, r in enumerate(RISKS)}
        return sorted(self._profiles.values(), key=lambda p: (order[p.risk], -p.spend, p.user_id))

    def counts(self) -> dict[str, int]:
        """Shoppers per segment, per risk level, and how many are high value."""
        out = {f"segment.{name}": 0 for name in SEGMENTS}
        out.update({f"risk.{name}": 0 for name in RISKS})
        out["high_value"] = 0
        for p in self._profiles.values():
            out[f"segment.{p.segment}"] += 1
            out[f"risk.{p.risk}"] += 1
            out["high_value"] += int(p.high_value)
        return out

    def forget_user(self, user_id: str) -> None:
        """Drop a shopper at once (privacy deletion)."""
        self._profiles.pop(user_id, None)

