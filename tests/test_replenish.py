"""Replenishment due dates, its fallbacks and bad input, and the replenishment eval task."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from recsys import replenish_eval
from recsys.data import Columns
from recsys.replenish import Replenishment, ReplenishmentError, timeline_from_file, timeline_from_records

DAY = 86_400.0
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "purchases"


def _rows(user: str, item: str, days: list[float], basket_prefix: str = "") -> list[dict[str, object]]:
    return [{"user_id": user, "item_id": item, "basket_id": f"{basket_prefix}{user}-{d}", "ts": d * DAY,
             "order_no": None, "quantity": 1.0} for d in days]


def test_every_ten_days_is_due_ten_days_after_the_last() -> None:
    """A shopper buying every 10 days (and an item everyone buys every 10 days) is due 10 days after the last."""
    rows = _rows("a", "milk", [0, 10, 20, 30, 40]) + _rows("b", "milk", [5, 15, 25])
    rep = Replenishment().fit(timeline_from_records(rows, now=45 * DAY))
    (due,) = rep.due(within=None, user_id="a")
    assert due.due == pytest.approx(50.0) and due.due_in == pytest.approx(5.0) and due.source == "own"
    assert [d.item_id for d in rep.due(within=4, user_id="a")] == []
    assert [d.item_id for d in rep.due(within=5, user_id="a")] == ["milk"]


def test_own_rhythm_is_shrunk_towards_the_item_cycle() -> None:
    """One own interval of 4 days with an item cycle of 16 lands between them, nearer the cycle."""
    rows = _rows("a", "rice", [0, 4]) + [r for u in "bcde" for r in _rows(u, "rice", [0, 16, 32, 48])]
    rep = Replenishment(prior_strength=2.0).fit(timeline_from_records(rows, now=10 * DAY))
    (due,) = rep.due(within=None, user_id="a")
    assert 4.0 < due.interval < 16.0 and due.interval > 8.0
    confident = max(d.confidence for d in rep.due(within=None, user_id="b"))
    assert due.confidence < confident


def test_bought_once_falls_back_to_the_item_cycle_and_items_never_rebought_are_not_due() -> None:
    """A shopper with one purchase gets the item's cycle (low confidence); an item nobody rebought is never due."""
    rows = _rows("a", "milk", [0, 7, 14, 21]) + _rows("z", "milk", [0]) + _rows("z", "sofa", [0])
    rows += _rows("a", "tv", [3])
    rep = Replenishment().fit(timeline_from_records(rows, now=1 * DAY))
    items = {d.item_id: d for d in rep.due(within=None, user_id="z")}
    assert set(items) == {"milk"} and items["milk"].source == "item_cycle"
    assert items["milk"].interval == pytest.approx(7.0, rel=0.01) and items["milk"].confidence < 0.5
    assert rep.skipped["not_consumable"] == 2  # sofa and tv


def test_absurd_intervals_are_left_out() -> None:
    """Two baskets at one time and a 2-year gap are not intervals; the weekly rhythm stays."""
    rows = _rows("a", "tea", [0, 7, 14]) + _rows("a", "tea", [14], basket_prefix="y")
    rows += _rows("a", "tea", [14 + 800, 821], basket_prefix="x")
    rep = Replenishment().fit(timeline_from_records(rows, now=821 * DAY))
    assert rep.skipped["same_time"] == 1 and rep.skipped["absurd"] == 1
    (due,) = rep.due(within=None, user_id="a")
    assert due.interval == pytest.approx(7.0, rel=0.01)


def test_orders_only_counts_in_orders(tmp_path: Path) -> None:
    """With only order numbers, an item in every 2nd order is due 2 orders after the last."""
    path = tmp_path / "p.csv"
    lines = [("u", "egg", o) for o in (1, 3, 5, 7)] + [("u", "bread", o) for o in (2, 4, 6, 8)]
    pd.DataFrame(lines, columns=["user_id", "item_id", "order"]).to_csv(path, index=False)
    rep = Replenishment().fit(timeline_from_file(path, Columns(order="order")))
    assert rep.unit == "orders"
    egg = next(d for d in rep.due(within=None, user_id="u") if d.item_id == "egg")
    assert egg.interval == pytest.approx(2.0, rel=0.01) and egg.due_in == pytest.approx(1.0, rel=0.01)


def test_gap_column_sums_days_between_orders(tmp_path: Path) -> None:
    """days_since_prior_order of 5 between orders: an item in every order is due 5 days after the last."""
    path = tmp_path / "p.csv"
    lines = [("u", "milk", o, "" if o == 1 else 5) for o in range(1, 6)]
    pd.DataFrame(lines, columns=["user_id", "item_id", "order", "gap"]).to_csv(path, index=False)
    tl = timeline_from_file(path, Columns(order="order"), gap_col="gap")
    assert tl.unit == "days" and sorted(tl.lines["t"]) == [0, 5, 10, 15, 20]
    (due,) = Replenishment().fit(tl).due(within=None)
    assert due.due == pytest.approx(25.0, rel=0.01)


def test_no_clock_is_a_clear_error(tmp_path: Path) -> None:
    """A history with no time, gap or order column says it cannot, and why; a gap column needs orders."""
    path = tmp_path / "p.csv"
    pd.DataFrame({"user_id": ["u"], "item_id": ["a"], "gap": [3]}).to_csv(path, index=False)
    with pytest.raises(ReplenishmentError, match="no time, days-between-orders or order column"):
        timeline_from_file(path, Columns())
    with pytest.raises(ReplenishmentError, match="needs --order-col"):
        timeline_from_file(path, Columns(), gap_col="gap")
    with pytest.raises(ReplenishmentError, match="neither ts nor order_no"):
        timeline_from_records([{"user_id": "u", "item_id": "a", "basket_id": None, "order_no": None, "ts": None,
                                "quantity": 1.0}])


def test_eval_task_finds_the_due_item(tmp_path: Path) -> None:
    """A shopper who buys eggs every 3rd order and bread every order: fold 1 holds out an egg order, all methods see it."""
    path = tmp_path / "p.csv"
    lines = [("u", "bread", o) for o in range(1, 11)] + [("u", "egg", o) for o in (1, 4, 7, 10)]
    pd.DataFrame(lines, columns=["user_id", "item_id", "order"]).to_csv(path, index=False)
    result = replenish_eval.evaluate_fold(timeline_from_file(path, Columns(order="order")), fold=1, k=2)
    assert result is not None
    assert result["cuecard"]["recall"] == 1.0 and result["cuecard"]["users"] == 1


@pytest.mark.skipif(not (DATA / "instacart_orders_dev.csv").is_file(), reason="needs ../shared/data/purchases")
def test_instacart_dev_beats_both_baselines() -> None:
    """On the Instacart dev shoppers' last basket cuecard precision@5 is ≥ 1.1× the better baseline (dev figure)."""
    tl = timeline_from_file(DATA / "instacart_orders_dev.csv", Columns("user_id", "product_id", order="order_number"),
                            gap_col="days_since_prior_order")
    result = replenish_eval.evaluate_fold(tl, fold=1)
    assert result is not None and (replenish_eval.lift(result) or 0) >= 1.1
