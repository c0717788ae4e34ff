"""The ticket board: complaints grouped into tickets with SLA deadlines, escalation and on-time rates.

Pure domain code (no I/O, no clock: every call takes `now`), so the hub, the store and tests drive it
alike. Like Chatwoot's SLA policies, deadlines are data per level (`SlaPolicy`) and red-amber-green is
computed from the time left, never stored. Like complaints about one thing from many viewers are ONE
ticket: the key is (room, product, kind), so 30 viewers with one broken zip are one ticket with 30
viewers; when `incident_viewers` distinct viewers complain within `incident_window` seconds it becomes
level 3 (an incident, 48 h written report). A ticket past its deadline and not resolved escalates one
level with a fresh deadline. Concurrent updates carry the version they read: a stale one is refused
(ConflictError → 409), so of two hosts resolving at once exactly one wins and the other is told.
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from assistant.complaints import Complaint, Severity, severity
from knowledge.errors import ConflictError, InvalidInputError, NotFoundError


class Status(StrEnum):
    """A ticket's life: open → acknowledged → resolved."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Rag(StrEnum):
    """Red-amber-green by time left before the deadline."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"


class UnknownStatusError(InvalidInputError):
    """A ticket was patched to a status outside open / acknowledged / resolved."""


class TicketNotFoundError(NotFoundError):
    """No ticket with that id."""


class StaleTicketError(ConflictError):
    """The ticket changed since the caller read it (another host updated it first)."""


@dataclass(frozen=True)
class SlaPolicy:
    """Response deadline per level in seconds, the amber share of time left, and the incident rule."""

    deadlines: dict[int, float] = field(default_factory=lambda: {1: 1800.0, 2: 1800.0, 3: 172800.0})
    amber_fraction: float = 0.25
    incident_viewers: int = 10
    incident_window: float = 120.0
    repeated_after: int = 3  # complaints about one product before it is flagged for review

    def deadline(self, level: int, since: float) -> float:
        """When a ticket of `level` opened (or escalated) at `since` must have been answered."""
        return since + self.deadlines[int(level)]


@dataclass
class Ticket:
    """One grouped complaint: who complained, about what, its level, status and deadline."""

    id: int
    room: str
    product_id: str | None
    kind: str
    level: int
    opened_at: float
    deadline: float
    status: Status = Status.OPEN
    owner: str = ""
    notes: str = ""
    viewers: dict[str, float] = field(default_factory=dict)  # viewer → last complaint time
    complaints: int = 0
    sample: list[str] = field(default_factory=list)
    escalations: int = 0
    answered_at: float | None = None  # first acknowledged or resolved
    resolved_at: float | None = None
    answered_on_time: bool | None = None
    version: int = 1

    @property
    def key(self) -> tuple[str, str | None, str]:
        """What groups complaints into this ticket."""
        return (self.room, self.product_id, self.kind)

    def rag(self, now: float, policy: SlaPolicy) -> Rag:
        """Green with time to spare, amber in the last `amber_fraction`, red past the deadline."""
        if self.status is Status.RESOLVED:
            return Rag.GREEN
        left = self.deadline - now
        if left <= 0:
            return Rag.RED
        total = max(policy.deadlines[self.level], 1e-9)
        return Rag.AMBER if left / total <= policy.amber_fraction else Rag.GREEN

    def public(self, now: float, policy: SlaPolicy) -> dict[str, object]:
        """A JSON-ready view (what REST and the `tickets` message send)."""
        return {"id": self.id, "room": self.room, "product_id": self.product_id, "kind": self.kind,
                "level": self.level, "status": self.status.value, "owner": self.owner, "notes": self.notes,
                "viewers": len(self.viewers), "complaints": self.complaints, "sample": self.sample[:3],
                "opened_at": self.opened_at, "deadline": self.deadline, "rag": self.rag(now, policy).value,
                "seconds_left": round(self.deadline - now, 1), "escalations": self.escalations,
                "answered_on_time": self.answered_on_time, "version": self.version}


def parse_status(value: str) -> Status:
    """The Status for a string; UnknownStatusError naming the allowed ones otherwise."""
    try:
        return Status(value)
    except ValueError:
        raise UnknownStatusError(f"unknown ticket status {value!r}; use one of "
                                 f"{', '.join(s.value for s in Status)}") from None


class TicketBoard:
    """Open tickets by key, every ticket by id, and the per-product complaint counts."""

    def __init__(self, policy: SlaPolicy | None = None) -> None:
        self.policy = policy or SlaPolicy()
        self.tickets: dict[int, Ticket] = {}
        self._open: dict[tuple[str, str | None, str], int] = {}
        self._product_complaints: dict[tuple[str, str], int] = {}
        self._next_id = 1

    def observe(self, room: str, complaint: Complaint, now: float | None = None) -> Ticket:
        """Add one complaint: to the open ticket with the same key, or a new ticket; re-level it."""
        now = _time.time() if now is None else now
        key = (room, complaint.product_id, complaint.kind)
        ticket = self.tickets.get(self._open.get(key, 0))
        if ticket is None or ticket.status is Status.RESOLVED:
            ticket = Ticket(id=self._next_id, room=room, product_id=complaint.product_id, kind=complaint.kind,
                            level=1, opened_at=now, deadline=self.policy.deadline(1, now))
            self._next_id += 1
            self.tickets[ticket.id] = ticket
            self._open[key] = ticket.id
        at = complaint.at or now  # the comment's own time: a replayed stream keeps its pace
        ticket.viewers[complaint.viewer or f"anon-{ticket.complaints}"] = at
        ticket.complaints += 1
        if len(ticket.sample) < 5:
            ticket.sample.append(complaint.text)
        product_count = 0
        if complaint.product_id is not None:
            pk = (room, complaint.product_id)
            product_count = self._product_complaints[pk] = self._product_complaints.get(pk, 0) + 1
        recent = sum(1 for seen in ticket.viewers.values() if abs(at - seen) <= self.policy.incident_window)
        level = int(severity(complaint.kind, safety=complaint.safety, distinct_viewers=recent,
                             product_complaints=product_count, incident_viewers=self.policy.incident_viewers,
                             repeated_after=self.policy.repeated_after))
        if level > ticket.level:  # a ticket only climbs; its deadline restarts from the new level
            ticket.level = level
            ticket.deadline = self.policy.deadline(level, now)
        ticket.version += 1
        return ticket

    def escalate_overdue(self, now: float | None = None) -> list[Ticket]:
        """Raise every unanswered ticket past its deadline one level (max 3) with a fresh deadline."""
        now = _time.time() if now is None else now
        raised = []
        for ticket in self.tickets.values():
            if ticket.status is Status.OPEN and ticket.deadline <= now:
                if ticket.answered_on_time is None:
                    ticket.answered_on_time = False
                ticket.level = min(ticket.level + 1, int(Severity.INCIDENT))
                ticket.deadline = self.policy.deadline(ticket.level, now)
                ticket.escalations += 1
                ticket.version += 1
                raised.append(ticket)
        return raised

    def update(self, ticket_id: int, *, status: str | None = None, owner: str | None = None,
               notes: str | None = None, version: int | None = None, now: float | None = None) -> Ticket:
        """Patch status/owner/notes; a stale `version` is refused (StaleTicketError), nothing half-applied."""
        now = _time.time() if now is None else now
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            raise TicketNotFoundError(f"no ticket {ticket_id}")
        new_status = parse_status(status) if status is not None else None
        if version is not None and version != ticket.version:
            raise StaleTicketError(f"ticket {ticket_id} is at version {ticket.version}, not {version}: "
                                   "someone else updated it; reload and retry")
        if new_status is not None and new_status is not ticket.status:
            if new_status is not Status.OPEN and ticket.answered_at is None:
                ticket.answered_at = now
                if ticket.answered_on_time is None:
                    ticket.answered_on_time = now <= ticket.deadline
            ticket.resolved_at = now if new_status is Status.RESOLVED else None
            if new_status is Status.RESOLVED:
                self._open.pop(ticket.key, None)
            ticket.status = new_status
        if owner is not None:
            ticket.owner = owner
        if notes is not None:
            ticket.notes = notes
        ticket.version += 1
        return ticket

    def flagged_products(self) -> list[tuple[str, str, int]]:
        """(room, product, complaints) for products with `repeated_after` or more complaints: review them."""
        return sorted(((room, pid, n) for (room, pid), n in self._product_complaints.items()
                       if n >= self.policy.repeated_after), key=lambda r: -r[2])

    def find(self, room: str | None = None, status: str | None = None) -> list[Ticket]:
        """Tickets, newest first, optionally of one room and one status."""
        wanted = parse_status(status) if status is not None else None
        return [t for t in sorted(self.tickets.values(), key=lambda t: -t.id)
                if (room is None or t.room == room) and (wanted is None or t.status is wanted)]

    def copy(self, ticket_id: int) -> Ticket:
        """A detached copy of one ticket (for persisting without aliasing)."""
        return replace(self.tickets[ticket_id], viewers=dict(self.tickets[ticket_id].viewers))


def on_time_rate(tickets: Iterable[Ticket]) -> dict[str, dict[str, dict[str, float]]]:
    """Share of answered-or-overdue tickets answered before their deadline, per room and per UTC day."""
    def bump(table: dict[str, list[int]], key: str, ok: bool) -> None:
        cell = table.setdefault(key, [0, 0])
        cell[0] += ok
        cell[1] += 1

    rooms: dict[str, list[int]] = {}
    days: dict[str, list[int]] = {}
    for t in tickets:
        if t.answered_on_time is None:
            continue  # still within its deadline: neither on time nor late yet
        day = _time.strftime("%Y-%m-%d", _time.gmtime(t.opened_at))
        bump(rooms, t.room, t.answered_on_time)
        bump(days, day, t.answered_on_time)

    def rates(table: dict[str, list[int]]) -> dict[str, dict[str, float]]:
        return {k: {"rate": round(ok / n, 4), "tickets": n} for k, (ok, n) in sorted(table.items())}

    return {"per_room": rates(rooms), "per_day": rates(days)}
