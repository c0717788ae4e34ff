"""Live re-ranking rules: stock, already-bought non-consumables, on-stage, line-up and room interest."""

from __future__ import annotations

from recsys.rerank import Candidate, LiveWeights, rerank

PRODUCTS = {
    "a": {"id": "a", "stock": 5, "consumable": False},
    "b": {"id": "b", "stock": 0, "consumable": True},
    "c": {"id": "c", "stock": 3, "consumable": True},
    "d": {"id": "d", "stock": 9, "consumable": False},
    "e": {"id": "e", "stock": 9, "consumable": True},
}


def cands(*pairs: tuple[str, float]) -> list[Candidate]:
    return [Candidate(i, s, "because_you_bought") for i, s in pairs]


def test_out_of_stock_is_never_shown() -> None:
    """An item with no stock is dropped, however high it scored and even when it is on stage."""
    out = rerank(cands(("b", 9.0), ("a", 1.0)), PRODUCTS, 5, on_stage="b", lineup=["b"])
    assert [c.item_id for c in out] == ["a"]


def test_bought_non_consumables_are_filtered_consumables_kept() -> None:
    """A bought non-consumable is not shown again; a bought consumable and unknown items are."""
    out = rerank(cands(("a", 3.0), ("c", 2.0), ("zz", 1.0)), PRODUCTS, 5, bought={"a", "c", "zz"})
    assert [c.item_id for c in out] == ["c", "zz"]


def test_on_stage_product_comes_first_as_live_now() -> None:
    """The product on stage outranks the model's best and says `live_now`."""
    out = rerank(cands(("a", 5.0), ("d", 0.1)), PRODUCTS, 2, on_stage="d")
    assert out[0].item_id == "d" and out[0].reason == "live_now"
    assert out[1].reason == "because_you_bought"


def test_room_interest_lifts_an_item_as_popular_in_room() -> None:
    """What the room's comments ask about rises above a slightly better model score."""
    out = rerank(cands(("a", 1.0), ("c", 0.8), ("e", 0.7)), PRODUCTS, 3, room_interest={"e": 4.0, "c": 1.0},
                 weights=LiveWeights(interest=0.6))
    assert [c.item_id for c in out] == ["e", "a", "c"]
    assert out[0].reason == "popular_in_room" and out[1].reason == "because_you_bought"


def test_bought_together_with_on_stage() -> None:
    """Items bought with the product on stage are lifted and say `bought_together`."""
    out = rerank(cands(("a", 1.0), ("c", 0.9)), PRODUCTS, 2, on_stage="x", with_on_stage={"c": 0.5})
    assert out[0].item_id == "c" and out[0].reason == "bought_together"


def test_duplicates_keep_the_first_and_k_is_respected() -> None:
    """A candidate proposed twice appears once; at most k come back."""
    out = rerank(cands(("a", 1.0), ("a", 0.5), ("c", 0.4), ("e", 0.3)), PRODUCTS, 2)
    assert [c.item_id for c in out] == ["a", "c"]
