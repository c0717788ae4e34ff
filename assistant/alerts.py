"""Live KPI alerts beside the cards: complaint surge, low stock, question backlog, audience drops.

Pure and clock-free (every call takes `now`): the hub or a route feeds it complaints, questions,
answers, stock levels and `room_stats` samples, and each alert comes back as a teleprompter `Card`
(kind `alert`, same id while the condition holds) that a dashboard can list too. Thresholds are one
`AlertThresholds`, built from settings. Room statistics are validated here (`RoomStats.checked`):
negative or absurd numbers raise `InvalidRoomStatsError`, so nothing wrong is averaged in.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from assistant.cards import Card
from knowledge.errors import InvalidInputError

MAX_VIEWERS = 50_000_000  # above any real live room: a larger figure is a connector bug


class InvalidRoomStatsError(InvalidInputError):
    """A `room_stats` sample with negative, non-finite or absurd numbers."""


@dataclass(frozen=True)
class AlertThresholds:
    """Every alert's threshold (settings: `CUECARD_ALERT_*`)."""

    surge_complaints: int = 5  # complaints about one product…
    surge_window_s: float = 60.0  # …within this many seconds
    low_stock: int = 50
    question_backlog: int = 20  # unanswered viewer questions
    viewer_drop: float = 0.30  # share lost against the previous sample
    min_interaction_rate: float = 0.05  # comments per online viewer per period


@dataclass(frozen=True)
class RoomStats:
    """One connector sample: online viewers, new followers, likes and orders since the last one."""

    ts: float
    online_viewers: int
    new_followers: int = 0
    likes: int = 0
    orders: int = 0

    def checked(self) -> RoomStats:
        """Self, or InvalidRoomStatsError naming the bad field."""
        for name in ("online_viewers", "new_followers", "likes", "orders"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidRoomStatsError(f"room_stats.{name} must be a whole number ≥ 0, got {value!r}")
            if value > MAX_VIEWERS * 100:
                raise InvalidRoomStatsError(f"room_stats.{name} = {value} is not a plausible figure")
        if self.online_viewers > MAX_VIEWERS:
            raise InvalidRoomStatsError(f"room_stats.online_viewers = {self.online_viewers} is not plausible")
        if self.new_followers > self.online_viewers * 100 + 1000:
            raise InvalidRoomStatsError("room_stats.new_followers is far above the online viewers")
        if not (self.ts == self.ts) or self.ts < 0:
            raise InvalidRoomStatsError(f"room_stats.ts must be a time ≥ 0, got {self.ts!r}")
        return self


@dataclass
class RoomAlerts:
    """The alert state of one room: recent complaints per product, open questions, the last stats."""

    room_id: str
    thresholds: AlertThresholds = field(default_factory=AlertThresholds)
    _complaints: dict[str, deque[float]] = field(default_factory=dict)
    _questions: set[str] = field(default_factory=set)
    _comments_since_stats: int = 0
    _last: RoomStats | None = None

    def complaints(self, product_id: str | None, times: list[float]) -> list[Card]:
        """Record complaints about a product; a surge card suggests pausing its promotion."""
        if product_id is None or not times:
            return []
        seen = self._complaints.setdefault(product_id, deque())
        seen.extend(sorted(times))
        newest = seen[-1]
        while seen and newest - seen[0] > self.thresholds.surge_window_s:
            seen.popleft()
        if len(seen) < self.thresholds.surge_complaints:
            return []
        return [Card(id=f"alert-surge-{product_id}", kind="alert", title="complaint_surge", product_id=product_id,
                     count=len(seen), body="pause_promotion", priority=0.95, created_at=newest, updated_at=newest)]

    def stock(self, lineup_stock: dict[str, int], now: float) -> list[Card]:
        """A card per line-up product whose stock is below the threshold."""
        return [Card(id=f"alert-stock-{pid}", kind="alert", title="low_stock", product_id=pid, count=left,
                     priority=0.7, created_at=now, updated_at=now)
                for pid, left in lineup_stock.items() if left < self.thresholds.low_stock]

    def questions(self, asked: list[str], answered: list[str], now: float) -> list[Card]:
        """Track unanswered question ids; a card when the backlog passes the threshold."""
        self._questions.update(asked)
        self._questions.difference_update(answered)
        if len(self._questions) < self.thresholds.question_backlog:
            return []
        return [Card(id="alert-backlog", kind="alert", title="question_backlog", count=len(self._questions),
                     priority=0.8, created_at=now, updated_at=now)]

    def comments(self, n: int) -> None:
        """Count comments towards the next period's interaction rate."""
        self._comments_since_stats += n

    def room_stats(self, stats: RoomStats) -> list[Card]:
        """A validated sample: viewer-drop and low-interaction cards against the previous sample."""
        stats = stats.checked()
        cards: list[Card] = []
        last, self._last = self._last, stats
        comments, self._comments_since_stats = self._comments_since_stats, 0
        if last is not None and last.online_viewers > 0:
            drop = 1.0 - stats.online_viewers / last.online_viewers
            if drop >= self.thresholds.viewer_drop:
                cards.append(Card(id="alert-viewers", kind="alert", title="viewer_drop", count=stats.online_viewers,
                                  trend=-round(drop, 3), priority=0.85, created_at=stats.ts, updated_at=stats.ts))
        if last is not None and stats.online_viewers > 0:
            rate = comments / stats.online_viewers
            if rate < self.thresholds.min_interaction_rate:
                cards.append(Card(id="alert-interaction", kind="alert", title="low_interaction", count=comments,
                                  trend=round(rate, 4), priority=0.6, created_at=stats.ts, updated_at=stats.ts))
        return cards


class AlertDesk:
    """RoomAlerts for every room of an app, with one set of thresholds."""

    def __init__(self, thresholds: AlertThresholds | None = None) -> None:
        self.thresholds = thresholds or AlertThresholds()
        self.rooms: dict[str, RoomAlerts] = {}
        self._seen: dict[str, int] = {}  # the room's comment count (last seq) at its previous sample

    def room(self, room_id: str) -> RoomAlerts:
        """The room's alert state, created on first use."""
        if room_id not in self.rooms:
            self.rooms[room_id] = RoomAlerts(room_id, self.thresholds)
        return self.rooms[room_id]

    def room_stats(self, room_id: str, stats: RoomStats, total_comments: int) -> list[Card]:
        """A connector sample; `total_comments` (the room's last seq) gives the comments of the period."""
        alerts = self.room(room_id)
        stats = stats.checked()
        alerts.comments(max(total_comments - self._seen.get(room_id, total_comments), 0))
        self._seen[room_id] = total_comments
        return alerts.room_stats(stats)

    def stats_cards(self, room_id: str, msg: object, total_comments: int, now: float | None = None) -> list[Card]:
        """`room_stats` from a protocol message (fields online_viewers, new_followers, likes, orders, ts)."""
        ts = getattr(msg, "ts", None)
        stats = RoomStats(ts=float(ts) if ts is not None else (now if now is not None else time.time()),
                          online_viewers=getattr(msg, "online_viewers", -1),
                          new_followers=getattr(msg, "new_followers", 0), likes=getattr(msg, "likes", 0),
                          orders=getattr(msg, "orders", 0))
        return self.room_stats(room_id, stats, total_comments)

    def batch_cards(self, room_id: str, analyses: list[object]) -> list[Card]:
        """Complaint-surge cards from one analysed batch (complaints grouped by the product they are about)."""
        from assistant.ticket_desk import is_complaint

        times: dict[str, list[float]] = {}
        for a in analyses:
            pid = getattr(a, "product_id", None)
            if pid is not None and is_complaint(a):
                times.setdefault(pid, []).append(float(getattr(a, "ts", 0.0)))
        alerts = self.room(room_id)
        return [card for pid, ts in times.items() for card in alerts.complaints(pid, ts)]
