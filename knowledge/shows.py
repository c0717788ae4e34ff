"""Shows: a room's broadcast from start to end, and everything kept about it for the review (复盘).

A show covers the room's comments with a sequence number in (start_seq, end_seq]; an open show
(end_seq None) covers everything after its start. Beside the comments (which carry their analysis),
a show keeps its events: each change of the product on stage, each card the first time it fired
(updated with its final count), each answer and hand-off, compliance findings, tickets and room
statistics. `ShowRecorder` is the hub's one object for this: it buffers events in memory and writes
them in one transaction per flush, from whichever worker thread calls it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    func,
    insert,
    select,
    update,
)

from knowledge.errors import InvalidInputError, NotFoundError
from knowledge.store import Store, comments, metadata

shows = Table(
    "shows",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("room_id", String(64), nullable=False, index=True),
    Column("title", String(256), nullable=False, default=""),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float, nullable=True),
    Column("start_seq", Integer, nullable=False),  # comments with seq > start_seq belong to the show…
    Column("end_seq", Integer, nullable=True),  # …up to end_seq (None while it is open)
    Column("lineup", JSON, nullable=False, default=list),
    Column("on_stage", String(64), nullable=True),  # the product on stage when it started
    Column("auto", Boolean, nullable=False, default=False),  # started by the first comment after a quiet gap
)

show_events = Table(
    "show_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("show_id", String(64), nullable=False),
    Column("ts", Float, nullable=False),
    # stage | card | answer | handoff | compliance | ticket | room_stats | lineup
    Column("kind", String(32), nullable=False),
    Column("ref", String(160), nullable=True),  # card id, group id, ticket id: one row per (show, kind, ref)
    Column("product_id", String(64), nullable=True),
    Column("data", JSON, nullable=False, default=dict),
    Index("ix_show_events_show_kind", "show_id", "kind"),
)

log = logging.getLogger("cuecard.shows")

EVENT_KINDS = ("stage", "card", "answer", "handoff", "compliance", "ticket", "room_stats", "lineup")


def _row(r: Any) -> dict[str, Any]:
    return dict(r._mapping)


class ShowStore:
    """Shows and their events over the shared `Store` engine (SQLite or PostgreSQL)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # ---- shows ----
    def start(self, room_id: str, *, title: str = "", auto: bool = False, now: float | None = None) -> dict[str, Any]:
        """Start a show in a room (ending the open one at its last comment); NotFoundError for an unknown room."""
        room = self.store.get_room(room_id)
        now = time.time() if now is None else now
        last = self.store.last_comment_seq(room_id)
        current = self.current(room_id)
        if current is not None:
            self.end(room_id, current["id"], now=now)
        show_id = f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now))}-{uuid.uuid4().hex[:6]}"
        row = {"id": show_id, "room_id": room_id, "title": title or room.get("title", ""), "started_at": now,
               "ended_at": None, "start_seq": last, "end_seq": None, "lineup": list(room["lineup"]),
               "on_stage": room.get("on_stage"), "auto": auto}
        with self.engine.begin() as conn:
            conn.execute(insert(shows).values(**row))
            if room.get("on_stage"):
                conn.execute(insert(show_events).values(show_id=show_id, ts=now, kind="stage",
                                                        product_id=room["on_stage"], data={}))
        return row

    def end(self, room_id: str, show_id: str, now: float | None = None) -> dict[str, Any]:
        """End a show (idempotent: an ended show keeps its end); NotFoundError if the room has no such show."""
        show = self.get(room_id, show_id)
        if show["ended_at"] is not None:
            return show
        now = time.time() if now is None else now
        last = self.store.last_comment_seq(room_id)
        with self.engine.begin() as conn:
            conn.execute(update(shows).where(shows.c.id == show_id).values(ended_at=now, end_seq=last))
        return self.get(room_id, show_id)

    def get(self, room_id: str, show_id: str) -> dict[str, Any]:
        """One show of a room; NotFoundError when the room or the show is unknown."""
        with self.engine.connect() as conn:
            r = conn.execute(select(shows).where(shows.c.id == show_id).where(shows.c.room_id == room_id)).first()
        if r is None:
            self.store.get_room(room_id)  # an unknown room says so first
            raise NotFoundError(f"room {room_id!r} has no show {show_id!r}")
        return _row(r)

    def current(self, room_id: str) -> dict[str, Any] | None:
        """The room's open show, or None."""
        with self.engine.connect() as conn:
            r = conn.execute(select(shows).where(shows.c.room_id == room_id).where(shows.c.ended_at.is_(None))
                             .order_by(shows.c.started_at.desc()).limit(1)).first()
        return _row(r) if r is not None else None

    def latest(self, room_id: str) -> dict[str, Any]:
        """The room's most recent show; NotFoundError when it has none."""
        with self.engine.connect() as conn:
            r = conn.execute(select(shows).where(shows.c.room_id == room_id)
                             .order_by(shows.c.started_at.desc()).limit(1)).first()
        if r is None:
            self.store.get_room(room_id)
            raise NotFoundError(f"room {room_id!r} has no shows yet")
        return _row(r)

    def list_shows(self, room_id: str) -> list[dict[str, Any]]:
        """A room's shows, newest first; NotFoundError for an unknown room."""
        self.store.get_room(room_id)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(select(shows).where(shows.c.room_id == room_id)
                                                  .order_by(shows.c.started_at.desc()))]

    # ---- events ----
    def add_events(self, show_id: str, events: Sequence[dict[str, Any]]) -> int:
        """Store events; one with a `ref` replaces the show's earlier one of that kind and ref."""
        if not events:
            return 0
        with self.engine.begin() as conn:
            plain = [e for e in events if not e.get("ref")]
            if plain:
                conn.execute(insert(show_events), [self._event(show_id, e) for e in plain])
            for e in (e for e in events if e.get("ref")):
                where = ((show_events.c.show_id == show_id) & (show_events.c.kind == e["kind"])
                         & (show_events.c.ref == e["ref"]))
                found = conn.execute(select(show_events.c.id, show_events.c.ts).where(where)).first()
                if found is None:
                    conn.execute(insert(show_events).values(**self._event(show_id, e)))
                else:  # a card keeps the moment it first fired, with its latest state
                    conn.execute(update(show_events).where(show_events.c.id == found.id)
                                 .values(data=e.get("data", {}), product_id=e.get("product_id")))
        return len(events)

    @staticmethod
    def _event(show_id: str, e: dict[str, Any]) -> dict[str, Any]:
        if e["kind"] not in EVENT_KINDS:
            raise InvalidInputError(f"unknown show event kind {e['kind']!r}; known: {', '.join(EVENT_KINDS)}")
        return {"show_id": show_id, "ts": float(e.get("ts") or time.time()), "kind": e["kind"],
                "ref": e.get("ref"), "product_id": e.get("product_id"), "data": e.get("data", {})}

    def events(self, show_id: str, kinds: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """A show's events, oldest first (only `kinds` when given)."""
        stmt = select(show_events).where(show_events.c.show_id == show_id)
        if kinds is not None:
            stmt = stmt.where(show_events.c.kind.in_(list(kinds)))
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(stmt.order_by(show_events.c.ts, show_events.c.id))]

    def comment_span(self, show: dict[str, Any]) -> Any:
        """The SQL condition selecting a show's comments."""
        cond = (comments.c.room_id == show["room_id"]) & (comments.c.seq > show["start_seq"])
        if show["end_seq"] is not None:
            cond = cond & (comments.c.seq <= show["end_seq"])
        return cond

    def count_comments(self, show: dict[str, Any]) -> int:
        """How many comments a show has."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(comments).where(self.comment_span(show)))
                       .scalar() or 0)


class ShowRecorder:
    """What the hub calls: keeps each room's open show and buffers its events (thread-safe).

    `observe_batch` (model thread) starts a show by itself on the first comment after `gap_s` of quiet;
    every `observe_*` call is a few dict appends, and the buffer is written every `flush_s` seconds.
    """

    def __init__(self, shows_store: ShowStore, *, gap_s: float = 1800.0, flush_s: float = 1.0,
                 auto_start: bool = True) -> None:
        self.shows = shows_store
        self.gap_s = gap_s
        self.flush_s = flush_s
        self.auto_start = auto_start
        self._lock = threading.Lock()
        self._open: dict[str, str | None] = {}  # room -> open show id (None: known to have none)
        self._last_seen: dict[str, float] = {}
        self._buffer: dict[str, list[dict[str, Any]]] = {}
        self._cards: dict[str, dict[str, tuple[Any, ...]]] = {}  # show -> card id -> last recorded state
        self._flushed = 0.0

    def show_of(self, room_id: str) -> str | None:
        """The room's open show id (read once from the store, then kept)."""
        with self._lock:
            if room_id in self._open:
                return self._open[room_id]
        current = self.shows.current(room_id)
        with self._lock:
            self._open.setdefault(room_id, current["id"] if current else None)
            return self._open[room_id]

    def started(self, show: dict[str, Any]) -> None:
        """Tell the recorder a show started (by the route or by itself)."""
        with self._lock:
            self._open[show["room_id"]] = show["id"]

    def ended(self, room_id: str, show_id: str) -> None:
        """Tell the recorder a show ended (its buffered events are written first)."""
        self.flush(force=True)
        with self._lock:
            if self._open.get(room_id) == show_id:
                self._open[room_id] = None
            self._cards.pop(show_id, None)

    def _push(self, room_id: str, events: list[dict[str, Any]]) -> None:
        show_id = self.show_of(room_id)
        if show_id is None or not events:
            return
        with self._lock:
            self._buffer.setdefault(show_id, []).extend(events)
        self.flush()

    def flush(self, force: bool = False) -> None:
        """Write buffered events (at most every `flush_s` unless forced)."""
        now = time.time()
        with self._lock:
            if not self._buffer or (not force and now - self._flushed < self.flush_s):
                return
            buffered, self._buffer, self._flushed = self._buffer, {}, now
        for show_id, events in buffered.items():
            try:
                self.shows.add_events(show_id, events)
            except Exception:  # recording must never stop the room's cards
                log.exception("could not record %d events of show %s", len(events), show_id)

    # ---- hooks ----
    def observe_batch(self, room_id: str, analyses: Sequence[Any], cards: Sequence[Any],
                      now: float | None = None) -> None:
        """A batch was analysed: start a show after a quiet gap, record the cards it fired."""
        now = time.time() if now is None else now
        if analyses:
            with self._lock:
                last = self._last_seen.get(room_id)
                self._last_seen[room_id] = now
            quiet = last is None or now - last >= self.gap_s
            if self.auto_start and quiet and (last is not None or self.show_of(room_id) is None):
                try:
                    self._auto_start(room_id, analyses, now)
                except Exception:
                    log.exception("could not start a show in room %s", room_id)
        self.observe_cards(room_id, cards, now)

    def _auto_start(self, room_id: str, analyses: Sequence[Any], now: float) -> None:
        first_seq = min(a.seq for a in analyses)
        self.flush(force=True)  # what the old show buffered stays with it
        show = self.shows.start(room_id, auto=True, now=now)
        if show["start_seq"] >= first_seq:  # the batch is already stored: it belongs to the new show
            show["start_seq"] = first_seq - 1
            with self.shows.engine.begin() as conn:
                conn.execute(update(shows).where(shows.c.id == show["id"]).values(start_seq=first_seq - 1))
        self.started(show)

    def observe_cards(self, room_id: str, cards: Sequence[Any], now: float | None = None) -> None:
        """Cards that fired or changed: each kept once per show, with its latest count and talking point."""
        show_id = self.show_of(room_id)
        if show_id is None or not cards:
            return
        now = time.time() if now is None else now
        events = []
        with self._lock:
            seen = self._cards.setdefault(show_id, {})
            for c in cards:
                state = (c.count, c.talking_point, c.title)
                if seen.get(c.id) == state:
                    continue
                seen[c.id] = state
                data = {"kind": c.kind, "title": c.title, "count": c.count, "intent": c.intent,
                        "talking_point": c.talking_point, "samples": list(c.samples)[:5], "link": c.link,
                        "body": c.body, "items": list(c.items)}
                events.append({"kind": "card", "ref": c.id, "ts": now, "product_id": c.product_id, "data": data})
                if c.kind == "compliance_warning":
                    events.append({"kind": "compliance", "ref": c.id, "ts": now, "product_id": c.product_id,
                                   "data": {"text": c.body, "findings": list(c.items)}})
        self._push(room_id, events)

    def observe_answers(self, room_id: str, answers: Sequence[Any], now: float | None = None) -> None:
        """Answers given (to bots, or as a group's talking point): hand-offs are kept apart."""
        now = time.time() if now is None else now
        events = []
        for a in answers:
            kind = "handoff" if a.get("handoff") else "answer"
            events.append({"kind": kind, "ref": a.get("ref"), "ts": now, "product_id": a.get("product_id"),
                           "data": {"question": a.get("question", ""), "text": a.get("text", ""),
                                    "group_id": a.get("group_id"), "confidence": a.get("confidence"),
                                    "reason": a.get("reason", "")}})
        self._push(room_id, events)

    def observe_stage(self, room_id: str, product_id: str | None, now: float | None = None) -> None:
        """The product on stage changed (None: nothing on stage)."""
        self._push(room_id, [{"kind": "stage", "ts": time.time() if now is None else now,
                              "product_id": product_id, "data": {}}])

    def record(self, room_id: str, kind: str, data: dict[str, Any], *, ref: str | None = None,
               product_id: str | None = None, now: float | None = None) -> None:
        """Any other event of the open show (a ticket, room statistics)."""
        self._push(room_id, [{"kind": kind, "ref": ref, "ts": time.time() if now is None else now,
                              "product_id": product_id, "data": data}])
