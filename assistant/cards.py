"""Teleprompter cards from what the pipeline understood: the host's view of the room, with no I/O.

A `CardBoard` per room turns each batch of analyses and the room's live question groups into the
cards that changed: question groups with counts and a talking point, purchase surges ("31 viewers
want the link for #2"), complaint alerts when the complaint rate jumps over its recent baseline,
compliance warnings on the text we put in front of the host, and pitch-next suggestions. Time is
the caller's clock (`now`), so tests drive it directly.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: importing the settings need not load numpy
    from assistant.groups import QuestionGroup

# Intents a customer-service bot can answer from the knowledge base; other intents never get answers.
ANSWERABLE_INTENTS = frozenset({"price", "promotion", "shipping", "stock", "product_info", "after_sales"})
CARD_KINDS = ("question_group", "purchase_surge", "complaint_alert", "compliance_warning", "pitch_next")


class AnalysisLike(Protocol):
    """The fields of `assistant.pipeline.CommentAnalysis` the board reads."""

    seq: int
    user_id: str
    text: str
    top_intent: str
    product_id: str | None


class RoomLike(Protocol):
    """The fields of `knowledge.room.RoomState` the board reads."""

    on_stage: str | None

    @property
    def lineup_ids(self) -> list[str]: ...


@dataclass
class Card:
    """One teleprompter card; the same `id` is re-sent whenever it changes."""

    id: str
    kind: str
    title: str
    body: str = ""
    count: int = 0
    intent: str | None = None
    product_id: str | None = None
    link: int | None = None
    talking_point: str = ""
    trend: float = 0.0
    samples: list[str] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    priority: float = 0.0
    created_at: float = 0.0
    updated_at: float = 0.0


def link_of(room: RoomLike, product_id: str | None) -> int | None:
    """The product's link number in the room ("#2" is the line-up's second product), or None."""
    ids = room.lineup_ids
    return ids.index(product_id) + 1 if product_id in ids else None


@dataclass(frozen=True)
class BoardConfig:
    """When a card appears and how long it lives (the defaults are what the live rooms use)."""

    min_group_count: int = 2  # viewers asking the same thing before a question card shows
    surge_window_s: float = 30.0  # purchase comments counted over this window ...
    surge_min_viewers: int = 5  # ... from at least this many viewers make a surge
    complaint_window_s: float = 30.0  # the complaint rate now ...
    complaint_baseline_s: float = 300.0  # ... against its rate over this longer window
    complaint_min: int = 3  # complaints in the window before any alert
    complaint_ratio: float = 2.0  # now ÷ baseline rate that raises an alert
    complaint_floor: float = 0.02  # baseline rate never counted below this
    complaint_baseline_min: int = 30  # comments the baseline needs before it is trusted ...
    complaint_cold_rate: float = 0.25  # ... until then, alert when complaints are this share of comments
    card_ttl_s: float = 600.0  # a card not refreshed for this long leaves the board
    max_samples: int = 3  # sample comments kept on a card


class CardBoard:
    """The live cards of one room, updated batch by batch; returns only the cards that changed."""

    def __init__(self, room_id: str, config: BoardConfig | None = None) -> None:
        self.room_id = room_id
        self.config = config or BoardConfig()
        self.cards: dict[str, Card] = {}
        self.done: set[str] = set()
        self._seconds: dict[int, Counter[str]] = {}  # whole second → comments per top intent
        self._buyers: dict[str, deque[tuple[float, str]]] = {}
        self._viewers: dict[str, Counter[str]] = {}  # product -> viewer -> purchase comments in the window
        self._complaints: deque[str] = deque(maxlen=self.config.max_samples)
        self._alert_id: str | None = None
        self._group_seen: dict[str, int] = {}

    # ---- one batch ----
    def update(self, room: RoomLike, analyses: Sequence[AnalysisLike], groups: Iterable[QuestionGroup],
               now: float | None = None) -> list[Card]:
        """Fold a batch of analyses and the room's current groups in; return the cards that changed."""
        now = time.time() if now is None else now
        changed: dict[str, Card] = {}
        for a in analyses:
            self._count(a, room, now)
        for card in self._group_cards(room, groups, now):
            changed[card.id] = card
        for card in self._surge_cards(room, now):
            changed[card.id] = card
        alert = self._complaint_card(now)
        if alert is not None:
            changed[alert.id] = alert
        self._expire(now)
        return [c for c in changed.values() if c.id not in self.done]

    def _count(self, a: AnalysisLike, room: RoomLike, now: float) -> None:
        self._seconds.setdefault(int(now), Counter())[a.top_intent] += 1
        if a.top_intent == "complaint":
            self._complaints.append(a.text)
        elif a.top_intent == "purchase":
            product = a.product_id or room.on_stage
            if product is not None:
                viewer = a.user_id or f"seq{a.seq}"
                self._buyers.setdefault(product, deque()).append((now, viewer))
                self._viewers.setdefault(product, Counter())[viewer] += 1

    def _put(self, card: Card, now: float) -> Card:
        old = self.cards.get(card.id)
        card.created_at = old.created_at if old else now
        card.updated_at = now
        self.cards[card.id] = card
        return card

    def _group_cards(self, room: RoomLike, groups: Iterable[QuestionGroup], now: float) -> list[Card]:
        out = []
        for g in groups:
            # Purchase and complaint groups are covered by surge and complaint cards.
            if (g.intent not in ANSWERABLE_INTENTS or g.count < self.config.min_group_count
                    or self._group_seen.get(g.id) == g.count):
                continue
            self._group_seen[g.id] = g.count
            card_id = f"group:{g.id}"
            old = self.cards.get(card_id)
            product = g.product_ids[0] if g.product_ids else None
            card = Card(id=card_id, kind="question_group", title=g.representative, count=g.count,
                        intent=g.intent, product_id=product, link=link_of(room, product),
                        talking_point=old.talking_point if old else "", trend=round(float(g.trend), 2),
                        samples=list(g.samples[: self.config.max_samples]),
                        priority=g.count * (1.0 + max(0.0, min(float(g.trend), 3.0)) / 3.0))
            out.append(self._put(card, now))
        return out

    def _surge_cards(self, room: RoomLike, now: float) -> list[Card]:
        out = []
        for product, buyers in self._buyers.items():
            viewers_of = self._viewers.setdefault(product, Counter())
            while buyers and buyers[0][0] < now - self.config.surge_window_s:
                _, gone = buyers.popleft()
                viewers_of[gone] -= 1
                if viewers_of[gone] <= 0:
                    del viewers_of[gone]
            viewers = len(viewers_of)
            card_id = f"surge:{product}"
            old = self.cards.get(card_id)
            if viewers < self.config.surge_min_viewers or (old is not None and old.count == viewers):
                continue
            link = link_of(room, product)
            where = f"#{link}" if link else product
            card = Card(id=card_id, kind="purchase_surge", title=f"{viewers} viewers want the link for {where}",
                        body=f"in the last {int(self.config.surge_window_s)} s", count=viewers, intent="purchase",
                        product_id=product, link=link, priority=1000.0 + viewers)
            out.append(self._put(card, now))
        return out

    def _rates(self, now: float) -> tuple[int, int, int, int]:
        recent_from = now - self.config.complaint_window_s
        r_total = r_compl = b_total = b_compl = 0
        for sec, s in self._seconds.items():
            if sec >= recent_from:
                r_total += s.total()
                r_compl += s["complaint"]
            elif sec >= now - self.config.complaint_baseline_s:
                b_total += s.total()
                b_compl += s["complaint"]
        return r_total, r_compl, b_total, b_compl

    def _complaint_card(self, now: float) -> Card | None:
        r_total, r_compl, b_total, b_compl = self._rates(now)
        rate = r_compl / r_total if r_total else 0.0
        # Too little history to know the room's normal rate: only an outright high rate is a jump.
        known = b_total >= self.config.complaint_baseline_min
        baseline = max(b_compl / b_total, self.config.complaint_floor) if known else self.config.complaint_cold_rate
        threshold = self.config.complaint_ratio * baseline if known else self.config.complaint_cold_rate
        jumping = r_compl >= self.config.complaint_min and rate >= threshold
        if not jumping:
            self._alert_id = None
            return None
        if self._alert_id is None:
            self._alert_id = f"complaints:{int(now)}"
        old = self.cards.get(self._alert_id)
        if old is not None and old.count == r_compl:
            return None
        card = Card(id=self._alert_id, kind="complaint_alert",
                    title=f"Complaints jumped: {r_compl} in the last {int(self.config.complaint_window_s)} s",
                    body=f"{rate:.0%} of comments, against {baseline:.0%} before", count=r_compl,
                    intent="complaint", trend=round(rate / baseline, 2), samples=list(self._complaints),
                    priority=2000.0 + r_compl)
        return self._put(card, now)

    def _expire(self, now: float) -> None:
        for sec in [s for s in self._seconds if s < now - self.config.complaint_baseline_s - 1]:
            del self._seconds[sec]
        for card_id in [c.id for c in self.cards.values() if c.updated_at < now - self.config.card_ttl_s]:
            del self.cards[card_id]
            self.done.discard(card_id)

    # ---- enrichments computed off the batch path ----
    def set_talking_point(self, group_id: str, talking_point: str,
                          findings: Sequence[Any] = (), now: float | None = None) -> list[Card]:
        """Attach a talking point to a group's card, plus a compliance warning if it has findings."""
        now = time.time() if now is None else now
        card = self.cards.get(f"group:{group_id}")
        if card is None or card.talking_point == talking_point:
            return []
        out = [self._put(replace(card, talking_point=talking_point), now)]
        if findings:
            out.append(self.compliance_card(f"compliance:{group_id}", talking_point, findings, now))
        return [c for c in out if c.id not in self.done]

    def compliance_card(self, card_id: str, text: str, findings: Sequence[Any], now: float | None = None) -> Card:
        """A warning that `text` has terms the advertising rules forbid, with suggested rewording."""
        now = time.time() if now is None else now
        items = [{"term": f.term, "rule": f.rule, "suggestion": f.suggestion, "start": f.start, "end": f.end}
                 for f in findings]
        terms = "、".join(dict.fromkeys(i["term"] for i in items))
        card = Card(id=card_id, kind="compliance_warning", title=f"Avoid saying: {terms}", body=text,
                    count=len(items), items=items, priority=1500.0)
        return self._put(card, now)

    def pitch_next(self, recommendations: Sequence[Any], room: RoomLike, now: float | None = None) -> Card | None:
        """The pitch-next card from recommender suggestions, or None when they did not change."""
        now = time.time() if now is None else now
        items = []
        for r in recommendations:
            product = r.product or {}
            items.append({"product_id": r.item_id, "title": product.get("title", r.item_id),
                          "link": link_of(room, r.item_id), "score": round(float(r.score), 4), "reason": r.reason})
        if not items:
            return None
        old = self.cards.get("pitch_next")
        if old is not None and [i["product_id"] for i in old.items] == [i["product_id"] for i in items]:
            return None
        self.done.discard("pitch_next")
        first = items[0]
        where = f"#{first['link']} " if first["link"] else ""
        card = Card(id="pitch_next", kind="pitch_next", title=f"Pitch next: {where}{first['title']}",
                    body=first["reason"], product_id=first["product_id"], link=first["link"],
                    items=items, priority=50.0)
        return self._put(card, now)

    # ---- reads ----
    def mark_done(self, card_id: str) -> bool:
        """Hide a card from every host; False when no such card is live."""
        if card_id not in self.cards or card_id in self.done:
            return False
        self.done.add(card_id)
        return True

    def live_cards(self) -> list[Card]:
        """Cards not marked done, biggest first, then newest."""
        cards = [c for c in self.cards.values() if c.id not in self.done]
        return sorted(cards, key=lambda c: (-c.priority, -c.updated_at))

    def stats(self, after: int, upto: int) -> dict[str, Any]:
        """Comments, intents and complaint rate of the whole seconds in (`after`, `upto`], for the dashboard."""
        total = complaints = 0
        intents: Counter[str] = Counter()
        for sec, s in self._seconds.items():
            if after < sec <= upto:
                total += s.total()
                complaints += s["complaint"]
                intents.update(s)
        return {"comments": total, "intents": dict(intents),
                "complaint_rate": round(complaints / total, 4) if total else 0.0}
