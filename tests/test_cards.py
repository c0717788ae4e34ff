"""The card board: surges, complaint jumps, groups, pitch-next and marking done, on a driven clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from live_fakes import FakeFinding, FakeGroup, FakeRec

from assistant.cards import BoardConfig, CardBoard


@dataclass
class Room:
    on_stage: str | None = "p1"
    lineup_ids: list[str] = field(default_factory=lambda: ["p1", "p2", "p3"])


@dataclass
class A:
    seq: int
    user_id: str
    text: str
    top_intent: str
    product_id: str | None = None


def test_purchase_surge_counts_distinct_viewers_per_link() -> None:
    """Seven viewers (one asking twice) wanting #2 within the window make "7 viewers want the link for #2"."""
    board = CardBoard("r", BoardConfig(surge_min_viewers=5))
    batch = [A(i, f"u{i % 7}", "2号链接", "purchase", "p2") for i in range(8)]
    cards = board.update(Room(), batch, [], now=100.0)
    surge = next(c for c in cards if c.kind == "purchase_surge")
    assert (surge.title, surge.count, surge.link) == ("7 viewers want the link for #2", 7, 2)
    assert board.update(Room(), [], [], now=101.0) == []  # unchanged: nothing re-sent
    assert board.update(Room(), [A(9, "u1", "x", "purchase", "p2")], [], now=200.0) == []  # window passed


def test_complaint_alert_fires_on_a_jump_not_on_a_steady_rate() -> None:
    """A steady 10% complaint rate raises nothing; a jump to 50% raises one alert that then updates."""
    board = CardBoard("r", BoardConfig(complaint_min=3))
    for t in range(0, 240, 10):
        batch = [A(t * 10 + i, f"u{i}", "差评" if i == 0 else "666", "complaint" if i == 0 else "chitchat")
                 for i in range(10)]
        assert [c for c in board.update(Room(), batch, [], now=float(t)) if c.kind == "complaint_alert"] == []
    jump = [A(5000 + i, f"v{i}", "退款", "complaint" if i % 2 else "chitchat") for i in range(20)]
    alert = next(c for c in board.update(Room(), jump, [], now=245.0) if c.kind == "complaint_alert")
    assert alert.count == 12 and alert.samples[-1] == "退款"
    more = board.update(Room(), [A(6000, "w", "退款", "complaint")], [], now=246.0)
    assert [c.id for c in more if c.kind == "complaint_alert"] == [alert.id]


def test_group_cards_need_two_askers_and_sort_biggest_first() -> None:
    """A single question makes no card, nor does a purchase group; groups are ordered by count."""
    board = CardBoard("r")
    g1 = FakeGroup("g1", "price", "多少钱", 5, ["p2"], 0, 0, 1.0, [])
    g2 = FakeGroup("g2", "shipping", "包邮吗", 2, [], 0, 0, 1.0, [])
    g3 = FakeGroup("g3", "stock", "有货吗", 1, [], 0, 0, 1.0, [])
    g4 = FakeGroup("g4", "purchase", "上车了", 9, [], 0, 0, 1.0, [])
    cards = board.update(Room(), [], [g2, g1, g3, g4], now=1.0)
    assert sorted(c.id for c in cards) == ["group:g1", "group:g2"]
    assert [c.id for c in board.live_cards()] == ["group:g1", "group:g2"]
    assert board.live_cards()[0].link == 2
    assert board.update(Room(), [], [g2, g1], now=2.0) == []
    assert board.mark_done("group:g1") and not board.mark_done("group:g1")
    g1.count = 6
    assert board.update(Room(), [], [g1], now=3.0) == []  # done stays done
    assert [c.id for c in board.live_cards()] == ["group:g2"]


def test_talking_point_with_findings_adds_a_compliance_warning() -> None:
    """A talking point with a banned term is attached and flagged with the rule's suggestion."""
    board = CardBoard("r")
    board.update(Room(), [], [FakeGroup("g1", "product_info", "效果好吗", 2, ["p1"], 0, 0, 1.0, [])], now=1.0)
    cards = board.set_talking_point("g1", "全网最低价", [FakeFinding(2, 3, "最", "absolute_claim", "换成“很”")], now=2.0)
    assert [c.kind for c in cards] == ["question_group", "compliance_warning"]
    assert cards[0].talking_point == "全网最低价" and cards[1].items[0]["suggestion"] == "换成“很”"


def test_pitch_next_reports_link_numbers_and_only_changes() -> None:
    """Pitch-next lists suggestions with their link numbers, and is not resent when unchanged."""
    board = CardBoard("r")
    recs = [FakeRec("p3", 0.9, "bought_together", {"title": "保温杯"}), FakeRec("p9", 0.5, "popular", None)]
    card = board.pitch_next(recs, Room(), now=1.0)
    assert card is not None and card.title == "Pitch next: #3 保温杯"
    assert [i["link"] for i in card.items] == [3, None]
    assert board.pitch_next(recs, Room(), now=2.0) is None


def test_stats_count_the_last_window() -> None:
    """Stats report comments, intents and complaint rate of the whole seconds asked for, once each."""
    board = CardBoard("r")
    board.update(Room(), [A(1, "a", "x", "complaint"), A(2, "b", "y", "price")], [], now=10.2)
    board.update(Room(), [A(4, "d", "w", "price")], [], now=10.9)
    board.update(Room(), [A(3, "c", "z", "price")], [], now=11.5)
    assert board.stats(after=9, upto=10) == {"comments": 3, "intents": {"complaint": 1, "price": 2},
                                             "complaint_rate": 0.3333}
    assert board.stats(after=10, upto=11)["comments"] == 1
