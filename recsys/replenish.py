"""Replenishment: when each shopper is due to rebuy each consumable, from their own purchase intervals.

A `Timeline` is every (shopper, item, basket) line with a time `t` in one unit:
- `days`, from a time column (dates or epoch seconds) or a days-between-orders column (`gap_col`,
  such as Instacart's `days_since_prior_order`, summed per shopper from their first order);
- `orders`, from order numbers alone (t = the shopper's k-th basket).
A history with neither cannot say when anything is due: `ReplenishmentError` names the reason.

`Replenishment.fit` estimates each (shopper, item) interval in log space, shrunk towards the item's
typical cycle (empirical Bayes: the shopper's n intervals weigh n, the item's cycle weighs
`prior_strength`), and the item's cycle towards the shop-wide cycle the same way.

Documented fallbacks:
- a shopper who bought an item once (or has one purchase) gets the item's typical cycle, with a low
  confidence;
- an item nobody ever bought twice is not a consumable: it is never due;
- an item more than one whole interval overdue is lapsed, not due: it is left out of due lists;
- intervals of 0 (two baskets at the same time) and above `max_interval` (a shopper away for a year)
  are absurd and left out of every estimate (counted in `Replenishment.skipped`).
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys.data import Columns, canonical_frame, frame_from_records, read_purchases
from recsys.errors import PurchaseDataError, UnknownColumnError

UNITS = ("days", "orders")
DAY_S = 86_400.0


class ReplenishmentError(PurchaseDataError):
    """A purchase history from which due dates cannot be computed (the message says why)."""


@dataclass
class Timeline:
    """Purchase lines `user, item, b, t, quantity` (b = the shopper's k-th basket, t in `unit`), and each
    shopper's now."""

    lines: pd.DataFrame
    unit: str
    # each shopper's "now" in `unit`: the store's clock, the latest time in a file, or (when times
    # are relative to each shopper's first order) the shopper's own last basket
    now: pd.Series

    @property
    def n_users(self) -> int:
        """How many shoppers."""
        return int(self.lines["user"].nunique())


def _baskets(frame: pd.DataFrame) -> pd.DataFrame:
    """Lines with `b`, the shopper's basket rank by `seq` (0 = first)."""
    first = frame.groupby(["user", "basket"], sort=False, observed=True)["seq"].min().rename("bseq").reset_index()
    first["b"] = first.groupby("user", observed=True)["bseq"].rank(method="first").astype(np.int64) - 1
    return frame.merge(first, on=["user", "basket"], how="left")


def _no_clock(what: str) -> ReplenishmentError:
    return ReplenishmentError(
        f"{what} has no time, days-between-orders or order column, so nothing says when a shopper "
        "bought what: give --time-col, --gap-col (with --order-col) or --order-col")


def timeline_from_file(path: Path | str, columns: Columns, gap_col: str | None = None) -> Timeline:
    """Read a purchase file into a `Timeline` (days from `columns.time` or `gap_col`, else orders)."""
    path = Path(path)
    if columns.time:
        frame, _ = read_purchases(path, Columns(columns.user, columns.item, columns.basket or columns.order,
                                                None, columns.time, columns.quantity))
        lines = _baskets(frame)
        lines["t"] = lines["bseq"] / DAY_S
        t_max = float(lines["t"].max())
        return _timeline(lines, "days", None, t_max)
    if gap_col:
        if not columns.order:
            raise ReplenishmentError(f"--gap-col {gap_col!r} needs --order-col: the gaps are between a shopper's orders")
        frame, _ = read_purchases(path, Columns(columns.user, columns.item, columns.basket, columns.order, None,
                                                columns.quantity))
        header = list(pd.read_csv(path, nrows=0).columns)
        if gap_col not in header:
            raise UnknownColumnError(f"{path.name} has no column --gap-col {gap_col!r}; its columns are {header}")
        gaps = pd.read_csv(path, usecols=[columns.user, columns.order, gap_col], dtype=str)
        gaps.columns = ["user", "order", "gap"]
        gaps["user"] = gaps["user"].str.strip()
        gaps["order"] = pd.to_numeric(gaps["order"], errors="coerce")
        gaps["gap"] = pd.to_numeric(gaps["gap"], errors="coerce")
        gaps = gaps.dropna(subset=["order"]).drop_duplicates(["user", "order"]).sort_values(["user", "order"])
        # a shopper's first order has no gap (NaN): it starts their clock at 0; negative gaps are typos
        gaps["gap"] = gaps["gap"].fillna(0.0).clip(lower=0.0)
        gaps["t"] = gaps.groupby("user")["gap"].cumsum()
        lines = _baskets(frame).merge(gaps[["user", "order", "t"]], left_on=["user", "bseq"],
                                      right_on=["user", "order"], how="left")
        lines["t"] = lines["t"].fillna(lines["b"].astype(float))  # an order without a gap row: keep its rank
        return _timeline(lines, "days", "own", None)
    if columns.order:
        frame, _ = read_purchases(path, Columns(columns.user, columns.item, columns.basket, columns.order, None,
                                                columns.quantity))
        lines = _baskets(frame)
        lines["t"] = lines["b"].astype(float)
        return _timeline(lines, "orders", "own", None)
    raise _no_clock(path.name)


def timeline_from_records(records: Iterable[Mapping[str, Any]], now: float | None = None) -> Timeline:
    """The store's purchases as a `Timeline`: days from `ts` (epoch seconds) when every line has one,
    else orders from `order_no`; `now` (epoch seconds) defaults to the clock."""
    rows = list(records)
    if not rows:
        raise ReplenishmentError("no purchases are stored")
    if all(r.get("ts") is not None for r in rows):
        raw = pd.DataFrame.from_records(rows, columns=["user_id", "item_id", "basket_id", "ts", "quantity"])
        frame, _ = canonical_frame(raw, Columns("user_id", "item_id", "basket_id", None, "ts", "quantity"))
        lines = _baskets(frame)
        lines["t"] = lines["bseq"] / DAY_S
        return _timeline(lines, "days", None, (now if now is not None else _time.time()) / DAY_S)
    if all(r.get("order_no") is not None or r.get("ts") is not None for r in rows):
        frame, _ = frame_from_records(rows)
        lines = _baskets(frame)
        lines["t"] = lines["b"].astype(float)
        return _timeline(lines, "orders", "own", None)
    raise _no_clock("the stored purchase history (some lines have neither ts nor order_no)")


def _timeline(lines: pd.DataFrame, unit: str, now_kind: str | None, now: float | None) -> Timeline:
    lines = lines[["user", "item", "b", "t", "quantity"]].drop_duplicates(["user", "item", "b"]).reset_index(drop=True)
    if now_kind == "own":
        per_user = lines.groupby("user", sort=False)["t"].max()
    else:
        users = lines["user"].unique()
        per_user = pd.Series(float(now if now is not None else lines["t"].max()), index=users)
    return Timeline(lines, unit, per_user)


@dataclass
class Due:
    """One shopper's item and when it is due (times in the timeline's unit)."""

    user_id: str
    item_id: str
    last: float
    due: float
    due_in: float  # due − the shopper's now (negative = overdue)
    interval: float
    purchases: int
    confidence: float
    unit: str
    source: str  # "own" (from the shopper's intervals) or "item_cycle" (bought once: the item's cycle)

    def public(self) -> dict[str, Any]:
        """As a JSON-ready dict (times rounded to 0.1)."""
        return {"user_id": self.user_id, "item_id": self.item_id, "last_bought": round(self.last, 1),
                "due": round(self.due, 1), "due_in": round(self.due_in, 1), "interval": round(self.interval, 1),
                "purchases": self.purchases, "confidence": round(self.confidence, 3), "unit": self.unit,
                "source": self.source}


@dataclass
class Replenishment:
    """Per shopper × consumable item: interval, last purchase, due time and confidence."""

    prior_strength: float = 2.0  # how many of a shopper's intervals the item's cycle is worth
    item_prior_strength: float = 3.0  # how many intervals of an item the shop-wide cycle is worth
    max_interval: float | None = None  # default: 365 days, or 100 orders
    min_repeat_share: float = 0.05  # an item is a consumable when this share of its buyers bought it twice
    table: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    unit: str = "days"
    skipped: dict[str, int] = field(default_factory=dict)
    now: pd.Series = field(default_factory=lambda: pd.Series(dtype=float), repr=False)

    def fit(self, timeline: Timeline) -> Replenishment:
        """Estimate every (shopper, item) interval from `timeline`."""
        self.unit, self.now = timeline.unit, timeline.now
        cap = self.max_interval if self.max_interval is not None else (365.0 if timeline.unit == "days" else 100.0)
        lines = timeline.lines.sort_values(["user", "item", "t"], kind="stable")
        gap = lines.groupby(["user", "item"], sort=False)["t"].diff()
        zero, absurd = (gap <= 0), (gap > cap)
        self.skipped = {"same_time": int(zero.sum()), "absurd": int(absurd.sum())}
        logd = np.log(gap.where((gap > 0) & (gap <= cap)))
        lines = lines.assign(logd=logd, logd2=logd ** 2)
        pair = lines.groupby(["user", "item"], sort=False).agg(
            purchases=("t", "size"), last=("t", "max"), n=("logd", "count"), s=("logd", "sum"),
            ss=("logd2", "sum")).reset_index()
        pair["repeated"] = (pair["purchases"] >= 2).astype(np.int64)
        all_logd = lines["logd"].dropna()
        g_mu = float(all_logd.mean()) if len(all_logd) else 0.0
        g_var = float(all_logd.var()) if len(all_logd) > 1 else 0.25
        g_var = g_var if np.isfinite(g_var) and g_var > 0 else 0.25
        item = pair.groupby("item", sort=False).agg(n=("n", "sum"), s=("s", "sum"), ss=("ss", "sum"),
                                                    buyers=("user", "size"), repeaters=("repeated", "sum"))
        k0 = self.item_prior_strength
        item["mu"] = (item["s"] + k0 * g_mu) / (item["n"] + k0)
        item_var = (item["ss"] - item["n"] * item["mu"] ** 2).clip(lower=0.0)
        item["var"] = (item_var + k0 * g_var) / (item["n"] + k0)
        item["consumable"] = (item["repeaters"] >= 1) & (item["repeaters"] >= self.min_repeat_share * item["buyers"])
        pair = pair.join(item[["mu", "var", "consumable"]].rename(columns={"mu": "item_mu", "var": "item_var"}),
                         on="item")
        k = self.prior_strength
        mu = (pair["s"] + k * pair["item_mu"]) / (pair["n"] + k)
        own_var = (pair["ss"] - pair["n"] * mu ** 2).clip(lower=0.0)
        var = (own_var + k * pair["item_var"]) / (pair["n"] + k)
        pair["interval"] = np.exp(mu)
        pair["due"] = pair["last"] + pair["interval"]
        # more own intervals and a steadier rhythm → more confidence; bought once → the item's cycle alone
        pair["confidence"] = (pair["n"] + 1) / (pair["n"] + 1 + k) * np.exp(-np.sqrt(var))
        pair["source"] = np.where(pair["n"] > 0, "own", "item_cycle")
        pair["due_in"] = pair["due"] - pair["user"].map(self.now).astype(float)
        # an item nobody rebought is not a consumable; one the shopper rebought themself is, for them
        keep = pair["consumable"] | (pair["n"] > 0)
        self.skipped["not_consumable"] = int((~keep).sum())
        self.table = pair[keep].reset_index(drop=True)
        return self

    def due(self, within: float | None = None, user_id: str | None = None, limit: int | None = None) -> list[Due]:
        """Items due within `within` units of each shopper's now (overdue included), soonest first."""
        t = self.table
        if user_id is not None:
            t = t[t["user"] == user_id]
        if within is not None:
            t = t[t["due_in"] <= within + 1e-6]  # exp(log(10)) is not always exactly 10
        # more than one whole cycle overdue: the shopper has moved on (lapsed), not "due"
        t = t[t["due_in"] >= -t["interval"]]
        t = t.sort_values(["due_in", "confidence"], ascending=[True, False], kind="stable")
        if limit is not None:
            t = t.head(limit)
        return [Due(str(r.user), str(r.item), float(r.last), float(r.due), float(r.due_in), float(r.interval),
                    int(r.purchases), float(r.confidence), self.unit, str(r.source))
                for r in t.itertuples(index=False)]

    def knows_user(self, user_id: str) -> bool:
        """Whether the shopper has any purchase in the fitted history."""
        return user_id in self.now.index

    def forget_user(self, user_id: str) -> None:
        """Drop a shopper's rows at once (privacy deletion), without refitting."""
        self.table = self.table[self.table["user"] != user_id].reset_index(drop=True)
        self.now = self.now.drop(user_id, errors="ignore")
