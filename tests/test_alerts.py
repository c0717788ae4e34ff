"""Live alerts: surge, low stock, question backlog, viewer drop, interaction rate, bad room_stats."""

from __future__ import annotations

import pytest

from assistant.alerts import AlertThresholds, InvalidRoomStatsError, RoomAlerts, RoomStats

T0 = 1_800_000_000.0


def test_complaint_surge_suggests_pausing_the_promotion() -> None:
    """Five complaints about p1 within a minute give one surge card; spread over ten minutes, none."""
    alerts = RoomAlerts("r1")
    assert alerts.complaints("p1", [T0, T0 + 10, T0 + 20, T0 + 30]) == []
    (card,) = alerts.complaints("p1", [T0 + 40])
    assert (card.id, card.title, card.body, card.count) == ("alert-surge-p1", "complaint_surge", "pause_promotion", 5)
    slow = RoomAlerts("r1")
    assert all(slow.complaints("p2", [T0 + 120 * i]) == [] for i in range(6))


def test_low_stock_and_backlog() -> None:
    """Stock 49 < 50 alerts, 50 does not; 20 unanswered questions alert, answering one clears it."""
    alerts = RoomAlerts("r1")
    assert [c.product_id for c in alerts.stock({"p1": 49, "p2": 50}, T0)] == ["p1"]
    assert alerts.questions([f"q{i}" for i in range(19)], [], T0) == []
    assert alerts.questions(["q19"], [], T0)[0].count == 20
    assert alerts.questions([], ["q0"], T0) == []


def test_viewers_drop_and_interaction_rate() -> None:
    """1000 → 690 viewers is a 31% drop; 30 comments for 690 viewers is 4.3% < 5%."""
    alerts = RoomAlerts("r1", AlertThresholds())
    assert alerts.room_stats(RoomStats(T0, 1000)) == []
    alerts.comments(30)
    titles = {c.title: c for c in alerts.room_stats(RoomStats(T0 + 60, 690))}
    assert set(titles) == {"viewer_drop", "low_interaction"}
    assert titles["viewer_drop"].trend == pytest.approx(-0.31)
    alerts.comments(100)
    assert alerts.room_stats(RoomStats(T0 + 120, 700)) == []


@pytest.mark.parametrize("bad", [RoomStats(T0, -1), RoomStats(T0, 10, likes=-5), RoomStats(T0, 10**12),
                                 RoomStats(T0, 10, new_followers=10**9), RoomStats(-1.0, 10)])
def test_negative_or_absurd_room_stats_are_refused(bad: RoomStats) -> None:
    """A typed error, and the previous sample stays the reference."""
    alerts = RoomAlerts("r1")
    alerts.room_stats(RoomStats(T0, 1000))
    with pytest.raises(InvalidRoomStatsError):
        alerts.room_stats(bad)
    # 1000 → 900 is no 30% drop: the bad sample was not taken as the previous period
    assert [c.title for c in alerts.room_stats(RoomStats(T0 + 60, 900))] == ["low_interaction"]


def test_a_batch_of_complaints_about_one_product_gives_a_surge_card() -> None:
    """Six complaints about p1 in one batch (and chat about p2) → one surge card for p1."""
    from assistant.alerts import AlertDesk
    from assistant.pipeline import CommentAnalysis

    def a(i: int, intent: str, pid: str) -> CommentAnalysis:
        return CommentAnalysis(i, f"c{i}", f"u{i}", "差评", "差评", T0 + i, {intent: 0.9}, intent, pid, None, None)

    cards = AlertDesk().batch_cards("r1", [a(i, "complaint", "p1") for i in range(6)] + [a(9, "chitchat", "p2")])
    assert [(c.id, c.count) for c in cards] == [("alert-surge-p1", 6)]
