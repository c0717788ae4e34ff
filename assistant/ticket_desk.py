"""The live side of tickets: reads a room's analysed comments, feeds the board, persists what changed.

The hub calls `observe` after each analysed batch (cheap: dict updates) and broadcasts what it
returns as a `tickets` message; writes to the store go to the desk's own thread so the event loop
never waits on the database. Overdue tickets are escalated on every observe and on `tick`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from assistant.complaints import read_complaint
from assistant.tickets import SlaPolicy, Ticket, TicketBoard, on_time_rate

log = logging.getLogger("cuecard.tickets")


def is_complaint(analysis: Any) -> bool:
    """A comment counts when its top intent is complaint, or after-sales with complaint also over threshold."""
    if getattr(analysis, "rejected", None):
        return False
    top = analysis.top_intent
    return bool(top == "complaint" or (top == "after_sales" and "complaint" in analysis.intents))


class TicketDesk:
    """One board for every room of the app, with an optional TicketStore behind it."""

    def __init__(self, policy: SlaPolicy | None = None, store: Any = None) -> None:
        self.board = TicketBoard(policy)
        self.store = store  # a knowledge.tickets.TicketStore, or None (memory only)
        self.lock = threading.Lock()  # the board is shared by the event loop and REST threads
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="tickets-db") if store is not None else None

    @property
    def policy(self) -> SlaPolicy:
        """The SLA policy in force."""
        return self.board.policy

    def observe(self, room_id: str, analyses: Sequence[Any], now: float | None = None) -> list[dict[str, Any]]:
        """Feed one analysed batch; return the public views of every ticket it created or changed."""
        now = time.time() if now is None else now
        changed: dict[int, Ticket] = {}
        with self.lock:
            for a in analyses:
                if is_complaint(a):
                    ticket = self.board.observe(room_id, read_complaint(a.text, on_stage=a.product_id,
                                                                        viewer=a.user_id, at=a.ts), now=now)
                    changed[ticket.id] = ticket
            for ticket in self.board.escalate_overdue(now):
                changed[ticket.id] = ticket
            views = [t.public(now, self.policy) for t in changed.values()]
        self._persist(views, now)
        return views

    def tick(self, now: float | None = None) -> list[dict[str, Any]]:
        """Escalate overdue tickets; return their views."""
        return self.observe("", [], now)

    def find(self, room_id: str | None = None, status: str | None = None,
             now: float | None = None) -> list[dict[str, Any]]:
        """Ticket views, newest first (escalating overdue ones first)."""
        now = time.time() if now is None else now
        self.tick(now)
        with self.lock:
            return [t.public(now, self.policy) for t in self.board.find(room_id, status)]

    def update(self, ticket_id: int, *, now: float | None = None, **fields: Any) -> dict[str, Any]:
        """Patch a ticket (status / owner / notes / version); the board's errors pass through."""
        now = time.time() if now is None else now
        with self.lock:
            view = self.board.update(ticket_id, now=now, **fields).public(now, self.policy)
        self._persist([view], now)
        return view

    def report(self) -> dict[str, Any]:
        """On-time rates per room and per day, and products flagged for review."""
        with self.lock:
            rates = on_time_rate(self.board.tickets.values())
            flagged = [{"room": r, "product_id": pid, "complaints": n} for r, pid, n in self.board.flagged_products()]
        return {**rates, "flagged_products": flagged}

    def _persist(self, views: list[dict[str, Any]], now: float) -> None:
        if self._writer is not None and views:
            self._writer.submit(self._save, views, now)

    def _save(self, views: list[dict[str, Any]], now: float) -> None:
        try:
            self.store.save(views, now)
        except Exception:  # a failed write must not stop the room; the board still holds the ticket
            log.exception("could not store %d tickets", len(views))

    def close(self) -> None:
        """Finish pending writes."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
