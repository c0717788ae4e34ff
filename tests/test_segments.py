"""RFM segments and churn risk with known answers."""

from __future__ import annotations

import pandas as pd

from recsys.replenish import Timeline
from recsys.segments import Segmenter, SegmentSettings


def _timeline(baskets: dict[str, list[tuple[float, float]]], now: float) -> Timeline:
    """Shopper → [(day, spend)], one line per basket; every shopper's now is `now`."""
    rows = [(u, "x", b, t, spend) for u, bs in baskets.items() for b, (t, spend) in enumerate(bs)]
    lines = pd.DataFrame(rows, columns=["user", "item", "b", "t", "quantity"])
    return Timeline(lines, "days", pd.Series(now, index=list(baskets)))


def test_segments_risk_and_high_value() -> None:
    """Five baskets in 30 days is loyal; 3 days ago active; 20 days ago lapsing; 40 sleeping; top spender flagged."""
    tl = _timeline({
        "loyal": [(d, 10.0) for d in (72, 78, 84, 90, 96)],
        "active": [(67, 10.0), (77, 10.0), (87, 10.0), (97, 10.0)],
        "lapsing": [(60, 10.0), (70, 10.0), (80, 10.0)],
        "sleeping": [(40, 500.0), (50, 10.0), (60, 10.0)],
        "falling": [(56, 100.0), (63, 100.0), (70, 100.0), (77, 20.0), (84, 20.0), (91, 20.0)],
    }, now=100.0)
    seg = Segmenter(SegmentSettings(high_value_share=0.2)).fit(tl)
    got = {u: seg.profile(u) for u in ("loyal", "active", "lapsing", "sleeping", "falling")}
    assert {u: p.segment for u, p in got.items() if p} == {
        "loyal": "loyal", "active": "active", "lapsing": "lapsing", "sleeping": "sleeping", "falling": "lapsing"}
    assert got["sleeping"] and got["sleeping"].risk == "high" and got["sleeping"].high_value  # 40 days vs a 10-day rhythm
    assert got["active"] and got["active"].risk == "low"
    assert got["lapsing"] and got["lapsing"].risk == "medium"  # 20 days vs a 10-day rhythm: 2× overdue, not falling
    assert got["falling"] and got["falling"].falling and got["falling"].risk == "medium"
    counts = seg.counts()
    assert counts["segment.loyal"] == 1 and counts["high_value"] == 1
    assert seg.profile("nobody") is None


def test_one_basket_uses_the_shop_rhythm() -> None:
    """A shopper with one basket is judged against the shop's median gap (here 10 days)."""
    tl = _timeline({"regular": [(50, 1.0), (60, 1.0), (70, 1.0)], "once": [(65, 1.0)]}, now=100.0)
    once = Segmenter().fit(tl).profile("once")
    assert once is not None and once.rhythm is None and once.segment == "sleeping" and once.risk == "high"
