"""Returning buyers in the room: a platform viewer who is a known shopper gets a card on the teleprompter.

A shop imports links from platform user id to shop user id (`shopper_links`, like purchases:
REST or CSV). When a room has the card switched on (`returning_rooms`, off by default: not
every shop may show it), the first comment of a linked viewer in that room yields one card: how
many times they bought, what they bought last, and a pairing line from the recommender
("上次买了咖啡机的家人，这款研磨豆正好配"). The card carries ids, counts and product titles only,
never a phone number, address or name (none of them is stored here).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Boolean, Column, Float, String, Table, delete, func, select

from knowledge.errors import InvalidInputError
from knowledge.store import Store, metadata, purchases

shopper_links = Table(
    "shopper_links",
    metadata,
    Column("platform", String(32), nullable=False, primary_key=True),
    Column("platform_user_id", String(128), nullable=False, primary_key=True),
    Column("user_id", String(128), nullable=False, index=True),
    Column("updated_at", Float, nullable=False),
)

returning_rooms = Table(
    "returning_rooms",
    metadata,
    Column("room_id", String(64), primary_key=True),
    Column("enabled", Boolean, nullable=False, default=False),
)


class ReturningBuyers:
    """Links, the per-room switch, and the cards for linked viewers (one per viewer per room)."""

    def __init__(self, store: Store, recommender: Any = None, catalogue: Any = None) -> None:
        self.store, self.recommender = store, recommender
        self._lock = threading.Lock()
        self._links: dict[tuple[str, str], str] | None = None
        self._rooms: dict[str, bool] | None = None
        self._shown: set[tuple[str, str]] = set()
        metadata.create_all(store.engine, tables=[shopper_links, returning_rooms])

    # ---- links ----
    def link(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Store (platform, platform_user_id) → user_id links, replacing older ones; return how many."""
        now = time.time()
        clean = []
        for r in rows:
            platform, pid, uid = (str(r.get(k) or "").strip() for k in ("platform", "platform_user_id", "user_id"))
            if not platform or not pid or not uid:
                raise InvalidInputError(f"a link needs platform, platform_user_id and user_id: {dict(r)!r}"[:300])
            clean.append({"platform": platform, "platform_user_id": pid, "user_id": uid, "updated_at": now})
        # one platform id named twice in a batch: the later line wins, as it would in two batches
        clean = list({(c["platform"], c["platform_user_id"]): c for c in clean}.values())
        if not clean:
            return 0
        with self.store.engine.begin() as conn:
            for row in clean:  # portable upsert: delete then insert in one transaction
                conn.execute(delete(shopper_links).where((shopper_links.c.platform == row["platform"])
                                                         & (shopper_links.c.platform_user_id == row["platform_user_id"])))
            conn.execute(shopper_links.insert(), clean)
        with self._lock:
            self._links = None
        return len(clean)

    def shop_user(self, platform: str, platform_user_id: str) -> str | None:
        """The shop user id linked to a platform viewer (None when unlinked)."""
        links = self._links
        if links is None:
            with self.store.engine.connect() as conn:
                links = {(r.platform, r.platform_user_id): r.user_id for r in conn.execute(select(shopper_links))}
            self._links = links
        return links.get((platform, platform_user_id))

    def forget(self, user_id: str) -> int:
        """Remove every link to a shop user (privacy); return how many."""
        with self.store.engine.begin() as conn:
            n = int(conn.execute(delete(shopper_links).where(shopper_links.c.user_id == user_id)).rowcount or 0)
        self._links = None
        return n

    # ---- the room switch ----
    def set_enabled(self, room_id: str, enabled: bool) -> bool:
        """Switch the returning-buyer card on or off for a room."""
        with self.store.engine.begin() as conn:
            conn.execute(delete(returning_rooms).where(returning_rooms.c.room_id == room_id))
            conn.execute(returning_rooms.insert(), [{"room_id": room_id, "enabled": bool(enabled)}])
        self._rooms = None
        return bool(enabled)

    def enabled(self, room_id: str) -> bool:
        """Whether the room shows returning-buyer cards (off unless switched on)."""
        rooms = self._rooms
        if rooms is None:
            with self.store.engine.connect() as conn:
                rooms = {r.room_id: bool(r.enabled) for r in conn.execute(select(returning_rooms))}
            self._rooms = rooms
        return rooms.get(room_id, False)

    # ---- cards ----
    def observe(self, room_id: str, comments: Sequence[Any]) -> list[dict[str, Any]]:
        """Cards for the linked viewers among `comments` not yet shown in this room (none when switched off)."""
        if not self.enabled(room_id):
            return []
        cards = []
        for c in comments:
            uid = self.shop_user(str(getattr(c, "platform", "")), str(getattr(c, "user_id", "") or ""))
            if uid is None or (room_id, uid) in self._shown:
                continue
            card = self.card(uid, platform_user_id=str(c.user_id))
            if card is not None:
                self._shown.add((room_id, uid))
                cards.append(card)
        return cards

    def card(self, user_id: str, platform_user_id: str = "") -> dict[str, Any] | None:
        """How often the shopper bought, what last, and a pairing line (None without purchases)."""
        with self.store.engine.connect() as conn:
            times = conn.execute(select(func.count(func.distinct(func.coalesce(
                purchases.c.basket_id, purchases.c.order_no, purchases.c.ts, purchases.c.id))))
                .where(purchases.c.user_id == user_id)).scalar() or 0
            last = conn.execute(select(purchases.c.item_id, purchases.c.ts).where(purchases.c.user_id == user_id)
                                .order_by(purchases.c.ts.desc(), purchases.c.order_no.desc(), purchases.c.id.desc())
                                .limit(1)).first()
        if not times or last is None:
            return None
        last_item = str(last.item_id)
        last_title = self._title(last_item)
        pair_id, pair_title = self._pairing(last_item)
        line = (f"上次买了{last_title}的家人，这款{pair_title}正好配" if pair_title
                else f"上次买了{last_title}的家人，欢迎回来")
        return {"platform_user_id": platform_user_id, "times_bought": int(times), "last_item_id": last_item,
                "last_item": last_title, "last_bought_ts": last.ts, "pairing_item_id": pair_id, "line": line}

    def _title(self, item_id: str) -> str:
        try:
            return str(self.store.get_product(item_id).get("title") or item_id)
        except Exception:  # an item the catalogue no longer knows keeps its id
            return item_id

    def _pairing(self, item_id: str) -> tuple[str | None, str | None]:
        if self.recommender is None:
            return None, None
        try:
            recs = self.recommender.related(item_id, k=1)
        except Exception:  # an unknown item or no model: the card goes without a pairing line
            return None, None
        if not recs:
            return None, None
        top = recs[0]
        return top.item_id, str((top.product or {}).get("title") or top.item_id)

