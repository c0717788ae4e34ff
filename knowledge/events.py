"""Widget events: recommendation impressions and clicks, add-to-cart and purchases sent by the shop.

Events are stored as they come (batched). An event naming a product the catalogue does not know is
kept with `known_item = False` (the catalogue may catch up) and counted as unknown in the answer;
an empty user id is an anonymous shopper. `implicit_feedback` turns them into weighted
(user, item, weight) triples the recommender can add to purchases.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Column, Float, Index, Integer, String, Table, case, func, insert, select

from knowledge.errors import InvalidInputError
from knowledge.store import Store, metadata, products

EVENT_KINDS = ("impression", "click", "add_to_cart", "purchase")
DEFAULT_WEIGHTS = {"impression": 0.0, "click": 0.3, "add_to_cart": 0.6, "purchase": 1.0}

widget_events = Table(
    "widget_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("user_id", String(128), nullable=False, default=""),
    Column("room_id", String(64), nullable=True),
    Column("source", String(32), nullable=True),  # the list it came from: recommendations | related
    Column("known_item", Boolean, nullable=False, default=True),
    Column("quantity", Float, nullable=False, default=1.0),
    Index("ix_widget_events_item_ts", "item_id", "ts"),
    Index("ix_widget_events_room_ts", "room_id", "ts"),
)


@dataclass(frozen=True)
class EventsAccepted:
    """What a batch did: how many were stored, and how many named a product the catalogue lacks."""

    stored: int
    unknown_items: list[str]


class EventStore:
    """Widget events over the shared `Store` engine."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    def add(self, events: Sequence[Mapping[str, Any]], now: float | None = None) -> EventsAccepted:
        """Store a batch; InvalidInputError (nothing stored) when one event has an unknown kind or no item."""
        now = time.time() if now is None else now
        rows = []
        for i, e in enumerate(events):
            kind, item = e.get("kind"), str(e.get("item_id") or "")
            if kind not in EVENT_KINDS:
                raise InvalidInputError(f"event {i}: kind {kind!r} is not one of {', '.join(EVENT_KINDS)}")
            if not item:
                raise InvalidInputError(f"event {i}: item_id is required")
            ts = float(e.get("ts") or now)
            rows.append({"ts": ts if ts <= now + 60 else now, "kind": kind, "item_id": item,
                         "user_id": str(e.get("user_id") or ""), "room_id": e.get("room_id") or None,
                         "source": e.get("source") or None, "quantity": float(e.get("quantity") or 1.0)})
        if not rows:
            return EventsAccepted(0, [])
        ids = sorted({r["item_id"] for r in rows})
        with self.engine.begin() as conn:
            known = set(conn.execute(select(products.c.id).where(products.c.id.in_(ids))).scalars())
            for r in rows:
                r["known_item"] = r["item_id"] in known
            conn.execute(insert(widget_events), rows)
        return EventsAccepted(len(rows), [i for i in ids if i not in known])

    def counts_by_item(self, start: float, end: float | None = None, room_id: str | None = None) -> dict[str, dict[str, int]]:
        """item -> kind -> count between `start` and `end` (in one room, or events with no room)."""
        stmt = (select(widget_events.c.item_id, widget_events.c.kind, func.count())
                .where(widget_events.c.ts >= start).group_by(widget_events.c.item_id, widget_events.c.kind))
        if end is not None:
            stmt = stmt.where(widget_events.c.ts <= end)
        if room_id is not None:
            stmt = stmt.where((widget_events.c.room_id == room_id) | widget_events.c.room_id.is_(None))
        out: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for item, kind, n in conn.execute(stmt):
                out.setdefault(item, {})[kind] = int(n)
        return out

    def count(self) -> int:
        """How many events are stored."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(widget_events)).scalar() or 0)


def implicit_feedback(store: Store, weights: Mapping[str, float] | None = None,
                      since: float | None = None) -> list[tuple[str, str, float]]:
    """(user, item, weight) per shopper and known product, summed over their events with `weights`
    per kind (default DEFAULT_WEIGHTS); anonymous shoppers and zero weights are left out. For the
    recommender to add to purchases as implicit feedback."""
    w = {**DEFAULT_WEIGHTS, **(weights or {})}
    score = case(*[(widget_events.c.kind == k, float(v)) for k, v in w.items()], else_=0.0)
    stmt = (select(widget_events.c.user_id, widget_events.c.item_id, func.sum(score * widget_events.c.quantity))
            .where(widget_events.c.user_id != "").where(widget_events.c.known_item.is_(True))
            .group_by(widget_events.c.user_id, widget_events.c.item_id))
    if since is not None:
        stmt = stmt.where(widget_events.c.ts >= since)
    with store.engine.connect() as conn:
        return [(u, i, float(s)) for u, i, s in conn.execute(stmt) if s and float(s) > 0]
