"""The demo shop: deterministic, complete, and with real co-purchase structure."""

from __future__ import annotations

import itertools
from collections import Counter

from knowledge.demo import (
    DEMO_ROOM,
    demo_comment_stream,
    demo_lineup,
    generate_products,
    generate_purchases,
    seed_demo,
)
from knowledge.store import Store


def test_products_cover_five_categories_deterministically() -> None:
    """200 products, 40 a category, the same on every run."""
    products = generate_products()
    assert len(products) == 200
    assert Counter(p["category"] for p in products) == {c: 40 for c in ("beauty", "apparel", "food", "home", "digital")}
    assert generate_products() == products
    assert len({p["id"] for p in products}) == 200


def test_complementary_types_are_bought_together_more_than_chance() -> None:
    """Earbuds and power banks share baskets far more often than earbuds and rice cookers."""
    products = generate_products()
    kind = {p["id"]: p["attributes"]["类型"] for p in products}
    baskets: dict[str, set[str]] = {}
    for row in generate_purchases(products, n_users=800):
        baskets.setdefault(row["basket_id"], set()).add(kind[row["item_id"]])
    with_earbuds = [b for b in baskets.values() if "蓝牙耳机" in b]
    assert with_earbuds
    power = sum("充电宝" in b for b in with_earbuds) / len(with_earbuds)
    cooker = sum("电饭煲" in b for b in with_earbuds) / len(with_earbuds)
    assert power > 0.3 > 0.05 > cooker


def test_seed_fills_an_empty_store_once(store: Store) -> None:
    """seed_demo fills an empty store with a room of 8 in-stock links, and leaves a filled one alone."""
    assert seed_demo(store, n_users=200) is not None
    room = store.get_room(DEMO_ROOM)
    assert room["lineup"] == demo_lineup(generate_products())
    assert all(store.get_product(pid)["stock"] > 0 for pid in room["lineup"])
    assert room["on_stage"] == room["lineup"][0]
    assert store.count_purchases() > 200
    assert seed_demo(store) is None


def test_comment_stream_is_ordered_and_has_bursts() -> None:
    """Timestamps never go back, and some comments arrive within 50 ms of each other."""
    stream = list(itertools.islice(demo_comment_stream(), 500))
    ts = [c["ts"] for c in stream]
    assert ts == sorted(ts)
    gaps = [b - a for a, b in itertools.pairwise(ts)]
    assert sum(g < 0.05 for g in gaps) > 50
    assert len({c["comment_id"] for c in stream}) == 500
