"""The ticket board: grouping, levels, SLA colours, escalation, concurrent updates, on-time rates."""

from __future__ import annotations

import pytest

from assistant.complaints import read_complaint
from assistant.tickets import (
    Rag,
    SlaPolicy,
    StaleTicketError,
    TicketBoard,
    TicketNotFoundError,
    UnknownStatusError,
    on_time_rate,
)

T0 = 1_800_000_000.0


def zip_complaint(viewer: str, at: float) -> object:
    return read_complaint("拉链坏了，垃圾", on_stage="jacket", viewer=viewer, at=at)


def test_thirty_viewers_with_one_broken_zip_are_one_level_3_ticket() -> None:
    """30 distinct viewers, same product and kind, within a minute → one ticket, 30 viewers, level 3."""
    board = TicketBoard()
    for i in range(30):
        board.observe("r1", zip_complaint(f"v{i}", T0 + i), now=T0 + i)  # type: ignore[arg-type]
    assert len(board.tickets) == 1
    ticket = next(iter(board.tickets.values()))
    assert (len(ticket.viewers), ticket.level, ticket.complaints) == (30, 3, 30)
    assert ticket.deadline == pytest.approx(T0 + 29 + 48 * 3600, abs=20)  # restarted at the 10th viewer
    assert board.flagged_products() == [("r1", "jacket", 30)]


def test_level_3_needs_distinct_viewers_within_the_window() -> None:
    """One viewer repeating stays below 3; ten viewers spread over an hour are not an incident."""
    board = TicketBoard()
    for i in range(12):
        board.observe("r1", read_complaint("快递太慢", on_stage="p", viewer="same"), now=T0 + i)
    assert next(iter(board.tickets.values())).level == 2  # repeated complaints about one product
    spread = TicketBoard()
    for i in range(10):
        spread.observe("r1", read_complaint("快递太慢", on_stage="p", viewer=f"v{i}"), now=T0 + 600 * i)
    assert next(iter(spread.tickets.values())).level == 2


def test_kinds_and_products_are_separate_tickets() -> None:
    """A logistics and a quality complaint about one product, or one kind about two products, differ."""
    board = TicketBoard()
    board.observe("r1", read_complaint("快递太慢", on_stage="a", viewer="x"), now=T0)
    board.observe("r1", read_complaint("拉链坏了", on_stage="a", viewer="y"), now=T0)
    board.observe("r1", read_complaint("快递太慢", on_stage="b", viewer="z"), now=T0)
    assert len(board.tickets) == 3
    assert [t.level for t in sorted(board.tickets.values(), key=lambda t: t.id)] == [1, 2, 1]


def test_rag_and_escalation_past_the_deadline() -> None:
    """30 min level 1: green, amber in the last quarter, red after; escalation raises it to 2."""
    board = TicketBoard(SlaPolicy())
    ticket = board.observe("r1", read_complaint("快递太慢", viewer="x"), now=T0)
    assert ticket.rag(T0 + 60, board.policy) is Rag.GREEN
    assert ticket.rag(T0 + 1500, board.policy) is Rag.AMBER
    assert ticket.rag(T0 + 1801, board.policy) is Rag.RED
    assert board.escalate_overdue(now=T0 + 1799) == []
    assert board.escalate_overdue(now=T0 + 1801) == [ticket]
    assert (ticket.level, ticket.escalations, ticket.answered_on_time) == (2, 1, False)
    assert ticket.deadline == T0 + 1801 + 1800


def test_patch_status_owner_notes_and_bad_input() -> None:
    """Acknowledging in time counts on time; an unknown status, id or stale version is refused."""
    board = TicketBoard()
    ticket = board.observe("r1", read_complaint("快递太慢", viewer="x"), now=T0)
    seen = ticket.version
    board.update(ticket.id, status="acknowledged", owner="amy", notes="called courier", version=seen, now=T0 + 60)
    assert (ticket.status.value, ticket.owner, ticket.answered_on_time) == ("acknowledged", "amy", True)
    with pytest.raises(UnknownStatusError, match="open, acknowledged, resolved"):
        board.update(ticket.id, status="closed")
    with pytest.raises(TicketNotFoundError):
        board.update(999, status="resolved")
    with pytest.raises(StaleTicketError):  # the second of two hosts resolving with the same read
        board.update(ticket.id, status="resolved", version=seen)
    assert ticket.status.value == "acknowledged"


def test_two_hosts_resolving_at_once_one_wins() -> None:
    """Both read version v; the first resolve applies, the second gets StaleTicketError."""
    board = TicketBoard()
    ticket = board.observe("r1", read_complaint("快递太慢", viewer="x"), now=T0)
    v = ticket.version
    board.update(ticket.id, status="resolved", owner="host-a", version=v, now=T0 + 10)
    with pytest.raises(StaleTicketError):
        board.update(ticket.id, status="resolved", owner="host-b", version=v, now=T0 + 10)
    assert ticket.owner == "host-a"
    again = board.observe("r1", read_complaint("快递太慢", viewer="y"), now=T0 + 20)
    assert again.id != ticket.id  # a resolved ticket is not reopened by a new complaint


def test_on_time_rate_per_room_and_day() -> None:
    """One ticket answered in time and one overdue in a room give 0.5; open in-time ones are not counted."""
    board = TicketBoard()
    a = board.observe("r1", read_complaint("快递太慢", on_stage="a", viewer="x"), now=T0)
    board.observe("r1", read_complaint("快递太慢", on_stage="b", viewer="y"), now=T0)
    board.observe("r2", read_complaint("快递太慢", on_stage="c", viewer="z"), now=T0 + 1000)
    board.update(a.id, status="resolved", now=T0 + 100)
    board.escalate_overdue(now=T0 + 1801)
    rates = on_time_rate(board.tickets.values())
    assert rates["per_room"]["r1"] == {"rate": 0.5, "tickets": 2}
    assert "r2" not in rates["per_room"]
    assert list(rates["per_day"].values()) == [{"rate": 0.5, "tickets": 2}]
