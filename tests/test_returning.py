"""Returning-buyer cards: links, the per-room switch (off by default), the card's content, and privacy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assistant.returning import ReturningBuyers
from knowledge.errors import InvalidInputError
from knowledge.store import Store


@dataclass
class _Rec:
    item_id: str
    product: dict[str, Any] | None


class _Related:
    """A deterministic recommender: coffee beans go with the coffee machine."""

    def related(self, item_id: str, k: int = 1) -> list[_Rec]:
        return [_Rec("beans", {"title": "研磨豆"})] if item_id == "machine" else []


@dataclass
class _Comment:
    platform: str
    user_id: str


@pytest.fixture()
def returning(tmp_path: Path) -> ReturningBuyers:
    """A store where shop user u1 bought twice, the coffee machine last, linked to douyin viewer dy-9."""
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.upsert_products([{"id": "machine", "title": "咖啡机", "price": 999, "stock": 3},
                           {"id": "cups", "title": "杯子", "price": 9, "stock": 3}])
    store.add_purchases([{"user_id": "u1", "item_id": "cups", "basket_id": "b1", "ts": 100.0},
                         {"user_id": "u1", "item_id": "machine", "basket_id": "b2", "ts": 200.0}])
    rb = ReturningBuyers(store, _Related())
    assert rb.link([{"platform": "douyin", "platform_user_id": "dy-9", "user_id": "u1"}]) == 1
    return rb


def test_off_by_default_then_one_card_per_viewer(returning: ReturningBuyers) -> None:
    """No card until the room switches it on; then one card for the linked viewer, not repeated."""
    comments = [_Comment("douyin", "dy-9"), _Comment("douyin", "stranger"), _Comment("kuaishou", "dy-9")]
    assert returning.observe("r1", comments) == []
    returning.set_enabled("r1", True)
    (card,) = returning.observe("r1", comments)
    assert card["times_bought"] == 2 and card["last_item"] == "咖啡机"
    assert card["line"] == "上次买了咖啡机的家人，这款研磨豆正好配" and card["pairing_item_id"] == "beans"
    assert set(card) == {"platform_user_id", "times_bought", "last_item_id", "last_item", "last_bought_ts",
                         "pairing_item_id", "line"}  # ids, counts and titles only: no phone, address or name
    assert returning.observe("r1", comments) == []
    assert returning.observe("r2", comments) == []  # another room is still off


def test_bad_links_and_forget(returning: ReturningBuyers) -> None:
    """A link without a user id is refused; forgetting a shopper removes their links at once."""
    with pytest.raises(InvalidInputError):
        returning.link([{"platform": "douyin", "platform_user_id": "x", "user_id": ""}])
    assert returning.forget("u1") == 1
    returning.set_enabled("r1", True)
    assert returning.observe("r1", [_Comment("douyin", "dy-9")]) == []


def test_a_platform_id_twice_in_one_batch_keeps_the_later_link(returning: ReturningBuyers) -> None:
    """Two lines for one platform id in one import: stored once, the later user id wins (no 5xx)."""
    n = returning.link([{"platform": "douyin", "platform_user_id": "dy-7", "user_id": "u2"},
                        {"platform": "douyin", "platform_user_id": "dy-7", "user_id": "u3"}])
    assert n == 1
    assert returning.shop_user("douyin", "dy-7") == "u3"
