"""Question groups: within a sliding window per room, comments with the same intent and meaning join
one group ("23 viewers asked about shipping to Xinjiang in the last 2 minutes"). Groups, not single
comments, are what the teleprompter shows.

A comment whose question frame (`assistant/frames.py`: intent, product, asked attribute) is
recognised joins the one group of that frame, whatever its wording: "二号多钱" and "2号链接什么价"
are one card, "多少钱" and "多大" for one product never are. A comment with no frame joins the
unframed group of its intent whose centroid is most similar (cosine ≥ `similarity`);
for intents about one product (price, stock, product info, purchase) the group must also be about
the same product, since "多少钱" for link 1 and for link 2 are different questions for the host.
Members leave the group when they fall out of the window; an empty group is dropped. Time is
stream time: the comments' own timestamps, so a replayed stream groups as it did live.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

from assistant.frames import frame_of

# Intents a host answers to the room as a whole; chitchat, praise and spam are not questions.
GROUPED_INTENTS = frozenset({"price", "promotion", "shipping", "stock", "product_info", "purchase",
                             "after_sales", "complaint"})
PER_PRODUCT_INTENTS = frozenset({"price", "stock", "product_info", "purchase"})
MAX_GROUPS_PER_ROOM = 400


@dataclass
class QuestionGroup:
    """A live question group as the teleprompter shows it."""

    id: str  # "<room id>:g<n>"
    intent: str
    representative: str
    count: int
    product_ids: list[str]
    first_ts: float
    last_ts: float
    trend: float  # count in the last quarter of the window ÷ expected; > 1 rising
    samples: list[str]


@dataclass
class _Group:
    id: str
    intent: str
    product_id: str | None
    frame_key: tuple[str, str | None, str] | None = None  # (intent, product, attribute) when framed
    members: deque[tuple[float, str, str | None]] = field(default_factory=deque)  # (ts, text, product)
    texts: Counter[str] = field(default_factory=Counter)
    products: Counter[str] = field(default_factory=Counter)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # one per distinct text
    total: np.ndarray | None = None  # count-weighted sum of member vectors
    _centroid: np.ndarray | None = None  # cached unit centroid; None after a change

    def centroid(self) -> np.ndarray:
        if self._centroid is None:
            assert self.total is not None
            norm = float(np.linalg.norm(self.total))
            self._centroid = self.total / norm if norm else self.total
        return self._centroid

    def add(self, ts: float, text: str, product_id: str | None, vector: np.ndarray) -> None:
        self.members.append((ts, text, product_id))
        self.texts[text] += 1
        if product_id:
            self.products[product_id] += 1
        if text not in self.vectors:
            self.vectors[text] = vector
        self.total = vector.copy() if self.total is None else self.total + self.vectors[text]
        self._centroid = None

    def expire(self, before: float) -> None:
        while self.members and self.members[0][0] < before:
            _, text, product_id = self.members.popleft()
            self.texts[text] -= 1
            assert self.total is not None
            self.total = self.total - self.vectors[text]
            self._centroid = None
            if self.texts[text] <= 0:
                del self.texts[text]
                del self.vectors[text]
            if product_id:
                self.products[product_id] -= 1
                if self.products[product_id] <= 0:
                    del self.products[product_id]


@dataclass
class _Room:
    groups: dict[str, list[_Group]] = field(default_factory=dict)  # by intent
    # (intent, product or None, text) → the group that holds that exact text: most of a live stream
    # is repeats, and a repeat must not pay for a similarity scan.
    by_text: dict[tuple[str, str | None, str], _Group] = field(default_factory=dict)
    by_frame: dict[tuple[str, str | None, str], _Group] = field(default_factory=dict)
    latest_ts: float = float("-inf")
    swept_ts: float = float("-inf")

    def count(self) -> int:
        return sum(len(gs) for gs in self.groups.values())


class QuestionGroups:
    """Sliding-window question groups for every room; thread-safe."""

    def __init__(self, window_s: float = 120.0, similarity: float = 0.78, samples: int = 5) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.window_s = window_s
        self.similarity = similarity
        self.samples = samples
        self._rooms: dict[str, _Room] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, room_id: str, intent: str, text: str, vector: np.ndarray, ts: float,
            product_id: str | None = None) -> str | None:
        """Put a comment in its group (creating one if none is close enough); return the group id.

        Returns None for intents that are not grouped.
        """
        if intent not in GROUPED_INTENTS:
            return None
        vector = np.asarray(vector, dtype=np.float32)
        with self._lock:
            room = self._rooms.setdefault(room_id, _Room())
            room.latest_ts = max(room.latest_ts, ts)
            # Sweeping every group on every comment would dominate a burst; a sixteenth of the
            # window late is invisible on a teleprompter, and `groups()` always sweeps exactly.
            if room.latest_ts - room.swept_ts > self.window_s / 16:
                self._expire(room, room.latest_ts)
                room.swept_ts = room.latest_ts
            frame = frame_of(text, intent, product_id)
            if frame.attribute is not None:
                intent = frame.intent
            per_product = intent in PER_PRODUCT_INTENTS
            scope = product_id if per_product else None
            if frame.attribute is not None:
                frame_key = (intent, scope, frame.attribute)
                best = room.by_frame.get(frame_key)
                if best is None or not best.members:
                    best = _Group(id=f"{room_id}:g{next(self._ids)}", intent=intent, product_id=scope,
                                  frame_key=frame_key)
                    room.groups.setdefault(intent, []).append(best)
                    room.by_frame[frame_key] = best
                    if room.count() > MAX_GROUPS_PER_ROOM:
                        self._cap(room)
                best.add(ts, text, product_id, vector)
                return best.id
            key = (intent, scope, text)
            best = room.by_text.get(key)
            if best is None or not best.members or text not in best.vectors:
                best = self._nearest(room.groups.setdefault(intent, []), vector, product_id, per_product)
            if best is None:
                best = _Group(id=f"{room_id}:g{next(self._ids)}", intent=intent, product_id=scope)
                room.groups[intent].append(best)
                if room.count() > MAX_GROUPS_PER_ROOM:
                    self._cap(room)
            best.add(ts, text, product_id, vector)
            room.by_text[key] = best
            return best.id

    def _nearest(self, candidates: list[_Group], vector: np.ndarray, product_id: str | None,
                 per_product: bool) -> _Group | None:
        """The candidate group whose centroid is most similar (≥ `similarity`), or None."""
        # Framed groups hold one question each; an unframed comment only joins unframed groups.
        pool = [g for g in candidates if g.members and g.frame_key is None
                and (not per_product or g.product_id == product_id)]
        if not pool:
            return None
        sims = np.stack([g.centroid() for g in pool]) @ vector
        best = int(sims.argmax())
        return pool[best] if sims[best] >= self.similarity else None

    def _expire(self, room: _Room, now: float) -> None:
        before = now - self.window_s
        for intent, groups in room.groups.items():
            for group in groups:
                if group.members and group.members[0][0] < before:
                    group.expire(before)
            room.groups[intent] = [g for g in groups if g.members]
        room.by_text = {k: g for k, g in room.by_text.items() if g.members and k[2] in g.vectors}
        room.by_frame = {k: g for k, g in room.by_frame.items() if g.members}

    def _cap(self, room: _Room) -> None:
        """Drop the smallest, stalest groups when a room holds too many (a flood of one-off comments).

        Cuts to three quarters of the cap, so the sort is paid once per many new groups, not per comment.
        """
        all_groups = [g for gs in room.groups.values() for g in gs if g.members]
        all_groups.sort(key=lambda g: (-len(g.members), -g.members[-1][0]))
        keep = {g.id for g in all_groups[: MAX_GROUPS_PER_ROOM * 3 // 4]}
        for intent, groups in room.groups.items():
            room.groups[intent] = [g for g in groups if g.id in keep]
        room.by_text = {k: g for k, g in room.by_text.items() if g.id in keep}
        room.by_frame = {k: g for k, g in room.by_frame.items() if g.id in keep}

    def groups(self, room_id: str, now: float | None = None) -> list[QuestionGroup]:
        """The room's live groups, biggest first; `now` defaults to the room's latest comment time."""
        with self._lock:
            room = self._rooms.get(room_id)
            if room is None:
                return []
            now = room.latest_ts if now is None else now
            self._expire(room, now)
            out = [self._public(g, now) for gs in room.groups.values() for g in gs if g.members]
        out.sort(key=lambda g: (-g.count, -g.last_ts))
        return out

    def _public(self, group: _Group, now: float) -> QuestionGroup:
        count = len(group.members)
        quarter_start = now - self.window_s / 4
        # Members arrive in time order, so the recent quarter is a run at the right end: walk only that
        # run instead of the whole window (this ran for every group on every batch of a busy room).
        recent = 0
        for ts, _, _ in reversed(group.members):
            if ts < quarter_start:
                break
            recent += 1
        # The most asked wording reads best on a teleprompter; ties go to the shorter text.
        ranked = sorted(group.texts.items(), key=lambda kv: (-kv[1], len(kv[0])))
        return QuestionGroup(
            id=group.id, intent=group.intent, representative=ranked[0][0], count=count,
            product_ids=[pid for pid, _ in group.products.most_common()],
            first_ts=group.members[0][0], last_ts=group.members[-1][0],
            trend=round(recent / (count / 4), 3),
            samples=[text for text, _ in ranked[: self.samples]],
        )

    def reset(self, room_id: str) -> None:
        """Forget every group of a room (the show ended)."""
        with self._lock:
            self._rooms.pop(room_id, None)
