"""Purchase history: read from CSV/Parquet or the store with a column mapping, cleaned, and packed as baskets.

Every source becomes one canonical frame (`user`, `item`, `basket`, `seq`, `quantity`), then
`Interactions`: each user's baskets oldest first, with users and items mapped to dense ids (the
mapping is saved with every model). Cleaning is documented and counted in a `LoadReport`:
malformed lines, rows without a user or item, and unusable order values are skipped; rows with a
quantity ≤ 0 (returns, typos) are skipped; exact duplicate rows are kept once; the same item twice
in one basket is one line with the quantities summed.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from scipy import sparse

from recsys.errors import PurchaseDataError, UnknownColumnError

CANONICAL = ("user", "item", "basket", "seq", "quantity")


@dataclass(frozen=True)
class Columns:
    """Which source column holds each field; only `user` and `item` are required."""

    user: str = "user_id"
    item: str = "item_id"
    basket: str | None = None
    order: str | None = None
    time: str | None = None
    quantity: str | None = None
    category: str | None = None

    def named(self) -> dict[str, str]:
        """Field → source column, for the columns that were given."""
        pairs = {"user": self.user, "item": self.item, "basket": self.basket, "order": self.order,
                 "time": self.time, "quantity": self.quantity, "category": self.category}
        return {k: v for k, v in pairs.items() if v}


STORE_COLUMNS = Columns(user="user_id", item="item_id", basket="basket_id", order="order_no", time="ts",
                        quantity="quantity")


@dataclass
class LoadReport:
    """What cleaning kept and skipped, and why."""

    rows: int = 0
    kept: int = 0
    malformed: int = 0
    missing_ids: int = 0
    bad_order: int = 0
    bad_quantity: int = 0
    duplicates: int = 0

    def summary(self) -> str:
        """One line for a terminal or a log."""
        skipped = {"malformed lines": self.malformed, "rows without user/item": self.missing_ids,
                   "unusable order/time": self.bad_order, "quantity ≤ 0 or not a number": self.bad_quantity,
                   "exact duplicates": self.duplicates}
        parts = [f"{n:,} {what}" for what, n in skipped.items() if n]
        return f"{self.kept:,} of {self.rows:,} purchase rows used" + (f"; skipped {', '.join(parts)}" if parts else "")


def read_purchases(path: Path | str, columns: Columns) -> tuple[pd.DataFrame, LoadReport]:
    """Read a CSV or Parquet purchase file through a column mapping; return the canonical frame and report."""
    path = Path(path)
    if not path.is_file():
        raise PurchaseDataError(f"purchase file {str(path)!r} does not exist")
    wanted = columns.named()
    parquet = path.suffix.lower() in (".parquet", ".pq")
    try:
        header = (list(pq.read_schema(path).names) if parquet
                  else list(pd.read_csv(path, nrows=0, encoding_errors="replace").columns))
    except Exception as exc:  # pandas/pyarrow raise many types for an unreadable file
        raise PurchaseDataError(f"cannot read {path.name}: {exc}") from exc
    missing = [f"--{k}-col {v!r}" for k, v in wanted.items() if v not in header]
    if missing:
        raise UnknownColumnError(f"{path.name} has no column {', '.join(missing)}; its columns are {header}")
    malformed = 0
    usecols = sorted(set(wanted.values()))
    if parquet:
        raw = pd.read_parquet(path, columns=usecols).astype("string")
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                # every column is read (not `usecols`): only then does pandas notice lines with extra fields
                raw = pd.read_csv(path, dtype=str, on_bad_lines="warn", encoding_errors="replace",
                                  skip_blank_lines=True)[usecols]
            except Exception as exc:
                raise PurchaseDataError(f"cannot parse {path.name}: {exc}") from exc
        # pandas reports skipped lines as warnings, several per message; count them instead of crashing.
        malformed = sum(str(w.message).count("Skipping line") for w in caught)
    frame, report = canonical_frame(raw, columns)
    report.malformed += malformed
    report.rows += malformed
    return frame, report


def frame_from_records(records: Iterable[Mapping[str, Any]]) -> tuple[pd.DataFrame, LoadReport]:
    """The canonical frame from store rows (`user_id`, `item_id`, `basket_id`, `order_no`, `ts`, `quantity`)."""
    raw = pd.DataFrame.from_records(list(records), columns=list(STORE_COLUMNS.named().values()))
    return canonical_frame(raw, STORE_COLUMNS)


def _as_seq(values: pd.Series) -> pd.Series:
    """Numbers as they are; otherwise dates as epoch seconds (NaN where neither parses)."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().sum() >= values.notna().sum() * 0.5:
        return numeric.astype(float)
    stamps = pd.to_datetime(values, errors="coerce", utc=True)
    return pd.Series((stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds(), index=values.index)


def canonical_frame(raw: pd.DataFrame, columns: Columns) -> tuple[pd.DataFrame, LoadReport]:
    """Clean a raw frame named by `columns` into `user, item, basket, seq, quantity` (see module doc)."""
    report = LoadReport(rows=len(raw))
    named = columns.named()
    duplicate = raw.duplicated(subset=list(dict.fromkeys(named.values())))
    report.duplicates = int(duplicate.sum())
    raw = raw[~duplicate]
    user = raw[columns.user].astype("string").str.strip()
    item = raw[columns.item].astype("string").str.strip()
    ok = user.notna() & item.notna() & (user != "") & (item != "")
    report.missing_ids = int((~ok).sum())
    seq = pd.Series(np.arange(len(raw), dtype=float), index=raw.index)  # file order when nothing else
    order_ok = pd.Series(True, index=raw.index)
    if columns.order:
        o = pd.to_numeric(raw[columns.order], errors="coerce")
        order_ok = o.notna()
        seq = o.astype(float)
        if columns.time:  # the time only breaks ties between equal order numbers
            t = _as_seq(raw[columns.time]).fillna(0.0)
            seq = seq + t.rank(method="dense", pct=True) * 0.5
    elif columns.time:
        seq = _as_seq(raw[columns.time])
        order_ok = seq.notna()
    report.bad_order = int((ok & ~order_ok).sum())
    ok &= order_ok
    if columns.quantity:
        q = pd.to_numeric(raw[columns.quantity], errors="coerce")
        good_q = q.notna() & (q > 0) & np.isfinite(q)
        report.bad_quantity = int((ok & ~good_q).sum())
        ok &= good_q
    else:
        q = pd.Series(1.0, index=raw.index)
    if columns.basket:
        basket = raw[columns.basket].astype("string").str.strip()
        basket = basket.where(basket.notna() & (basket != ""), "~" + seq.astype(str))
    elif columns.order or columns.time:
        basket = "~" + seq.astype(str)  # one basket per order number / time stamp
    else:
        basket = "~" + pd.Series(np.arange(len(raw)), index=raw.index).astype(str)
    frame = pd.DataFrame({"user": user, "item": item, "basket": basket.astype("string"),
                          "seq": seq.astype(float), "quantity": q.astype(float)})
    aggregations: dict[str, tuple[str, str]] = {"seq": ("seq", "min"), "quantity": ("quantity", "sum")}
    if columns.category:
        # documented fallback: a line without a category keeps its item; the item takes the category
        # most of its lines carry (`Interactions.item_category`), -1 when none has one
        frame["category"] = raw[columns.category].astype("string").str.strip().replace("", pd.NA)
        aggregations["category"] = ("category", "first")
    frame = (frame[ok].groupby(["user", "basket", "item"], sort=False, observed=True)
             .agg(**aggregations).reset_index())
    report.kept = int(ok.sum())
    if frame.empty:
        raise PurchaseDataError(f"no usable purchase rows: {report.summary()}")
    return frame[list(CANONICAL) + (["category"] if columns.category else [])], report


def shopper_half(user_ids: np.ndarray) -> np.ndarray:
    """0 or 1 per external user id, from a stable hash (CRC-32): the same shopper always falls in the
    same half, in every fold and every run, so tuning on one half never sees the other."""
    return np.fromiter((zlib.crc32(str(u).encode("utf-8")) & 1 for u in user_ids), np.int8, len(user_ids))


def row_positions(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the stored entries of `rows` in a CSR matrix, and each row's length (one gather
    instead of a Python loop over rows)."""
    starts, lens = indptr[rows], indptr[rows + 1] - indptr[rows]
    offsets = np.zeros(len(rows), np.int64)
    np.cumsum(lens[:-1], out=offsets[1:])
    return np.repeat(starts - offsets, lens) + np.arange(int(lens.sum())), lens


@dataclass
class Interactions:
    """Each user's baskets, oldest first, over dense user and item ids."""

    user_ids: np.ndarray  # dense user → external id (str)
    item_ids: np.ndarray  # dense item → external id (str)
    user_ptr: np.ndarray  # user u's baskets are user_ptr[u]:user_ptr[u+1]
    basket_ptr: np.ndarray  # basket b's lines are basket_ptr[b]:basket_ptr[b+1]
    basket_items: np.ndarray  # int32 item per line
    basket_qty: np.ndarray  # float32 quantity per line
    item_category: np.ndarray | None = None  # int32 category code per item (-1 unknown), when given
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, item_ids: np.ndarray | None = None) -> Interactions:
        """Pack a canonical frame; with `item_ids`, keep that item mapping (unknown items are dropped)."""
        users, user_ids = pd.factorize(frame["user"], sort=False)
        if item_ids is None:
            items, item_index = pd.factorize(frame["item"], sort=False)
            item_ids = np.asarray(item_index, dtype=str)
        else:
            items = pd.Index(item_ids).get_indexer(frame["item"])
        keep = items >= 0
        frame, users, items = frame[keep], users[keep], items[keep]
        baskets, _ = pd.factorize(pd.Series(users).astype(str) + "\x1f" + frame["basket"].to_numpy(dtype=str))
        n_baskets = int(baskets.max()) + 1 if len(baskets) else 0
        b_user = np.zeros(n_baskets, np.int64)
        b_user[baskets] = users
        b_seq = np.full(n_baskets, np.inf)
        np.minimum.at(b_seq, baskets, frame["seq"].to_numpy(float))
        b_first = np.full(n_baskets, np.iinfo(np.int64).max)
        np.minimum.at(b_first, baskets, np.arange(len(baskets)))
        order = np.lexsort((b_first, b_seq, b_user))  # by user, then order/time, then file position
        rank = np.empty(n_baskets, np.int64)
        rank[order] = np.arange(n_baskets)
        line_rank = rank[baskets]
        lines = np.argsort(line_rank, kind="stable")
        basket_ptr = np.zeros(n_baskets + 1, np.int64)
        np.cumsum(np.bincount(line_rank, minlength=n_baskets), out=basket_ptr[1:])
        user_ptr = np.zeros(len(user_ids) + 1, np.int64)
        np.cumsum(np.bincount(b_user, minlength=len(user_ids)), out=user_ptr[1:])
        category = None
        if "category" in frame:
            # each item's most frequent category over its lines (ties: the first seen)
            pairs = pd.DataFrame({"item": items, "category": frame["category"].to_numpy()}).dropna()
            codes, _ = pd.factorize(pairs["category"])
            pairs["code"] = codes
            best = pairs.groupby(["item", "code"]).size().reset_index(name="n").sort_values(
                ["item", "n"], ascending=[True, False], kind="stable").drop_duplicates("item")
            category = np.full(len(item_ids), -1, np.int32)
            category[best["item"].to_numpy()] = best["code"].to_numpy()
        return cls(np.asarray(user_ids, dtype=str), np.asarray(item_ids, dtype=str), user_ptr, basket_ptr,
                   items[lines].astype(np.int32), frame["quantity"].to_numpy(np.float32)[lines], category)

    @property
    def n_users(self) -> int:
        """How many users."""
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        """How many items in the id mapping."""
        return len(self.item_ids)

    @property
    def n_lines(self) -> int:
        """How many (basket, item) lines."""
        return len(self.basket_items)

    def baskets(self, user: int) -> list[np.ndarray]:
        """User `user`'s baskets (arrays of item ids), oldest first."""
        p = self.basket_ptr
        return [self.basket_items[p[b]:p[b + 1]] for b in range(self.user_ptr[user], self.user_ptr[user + 1])]

    @cached_property
    def user_items(self) -> sparse.csr_matrix:
        """Users × items, summed quantity (the number of baskets when quantities are 1)."""
        b_user = np.repeat(np.arange(self.n_users), np.diff(self.user_ptr))
        line_user = np.repeat(b_user, np.diff(self.basket_ptr))
        m = sparse.csr_matrix((self.basket_qty.astype(np.float32), (line_user, self.basket_items)),
                              shape=(self.n_users, self.n_items))
        m.sum_duplicates()
        return m

    @cached_property
    def basket_matrix(self) -> sparse.csr_matrix:
        """Baskets × items, 1 where the basket holds the item."""
        n_b = len(self.basket_ptr) - 1
        data = np.ones(self.n_lines, np.float32)
        return sparse.csr_matrix((data, self.basket_items, self.basket_ptr), shape=(n_b, self.n_items))

    @cached_property
    def item_index(self) -> dict[str, int]:
        """External item id → dense id."""
        return {s: i for i, s in enumerate(self.item_ids.tolist())}

    @cached_property
    def user_index(self) -> dict[str, int]:
        """External user id → dense id."""
        return {s: i for i, s in enumerate(self.user_ids.tolist())}

    def split_last(self, users: np.ndarray | None = None) -> tuple[Interactions, dict[int, np.ndarray]]:
        """Hold out each user's last basket (users with at least two; only `users` when given, such as
        validation shoppers); the rest keeps the same ids."""
        n_b = np.diff(self.user_ptr)
        last = self.user_ptr[1:] - 1
        held_users = np.flatnonzero(n_b >= 2)
        if users is not None:
            held_users = np.intersect1d(held_users, np.asarray(users, np.int64))
        held = {int(u): np.unique(self.basket_items[self.basket_ptr[last[u]]:self.basket_ptr[last[u] + 1]])
                for u in held_users}
        drop = np.zeros(len(self.basket_ptr) - 1, bool)
        drop[last[held_users]] = True
        keep_b = np.flatnonzero(~drop)
        line_idx, sizes = row_positions(self.basket_ptr, keep_b)
        basket_ptr = np.r_[0, np.cumsum(sizes)].astype(np.int64)
        dropped = np.bincount(np.repeat(np.arange(self.n_users), n_b)[drop], minlength=self.n_users)
        user_ptr = np.r_[0, np.cumsum(n_b - dropped)]
        train = Interactions(self.user_ids, self.item_ids, user_ptr.astype(np.int64), basket_ptr,
                             self.basket_items[line_idx], self.basket_qty[line_idx], self.item_category)
        return train, held
