"""RecommendationService on a real store: known users, fallbacks, live rooms, fresh purchases, hot swap."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.errors import InvalidInputError
from knowledge.room import RoomState
from recsys.blend import BlendParams
from recsys.errors import UnknownItemError
from recsys.service import RecommendationService
from recsys.synthetic import grouped_frame

PARAMS = BlendParams(als_factors=8, als_weighting="none", als_alpha=10.0, ease_regularization=5.0)


@pytest.fixture
def service(store, tmp_path: Path) -> RecommendationService:  # type: ignore[no-untyped-def]
    """A store with the grouped history (products g<group>i<n>, category per group) and a trained service."""
    frame, _ = grouped_frame()
    store.add_purchases([{"user_id": r.user, "item_id": r.item, "basket_id": r.basket, "order_no": int(r.seq)}
                         for r in frame.itertuples()])
    store.upsert_products([{"id": f"g{g}i{j}", "title": f"item {g}-{j}", "category": f"cat{g}", "stock": 10,
                            "consumable": j != 1} for g in range(5) for j in range(4)]
                          + [{"id": "fresh", "title": "never sold", "category": "cat2", "stock": 4}])
    svc = RecommendationService(store, models_dir=tmp_path / "models", params=PARAMS)
    svc.train()
    return svc


def ids(recs) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.item_id for r in recs]


def test_known_user_gets_withheld_item_with_product_data(service: RecommendationService) -> None:
    """The test user's unbought group item is recommended, with its catalogue row; bought non-consumables are not."""
    recs = service.recommend("u0_0", k=4)
    assert "g0i3" in ids(recs)
    assert "g0i1" not in ids(recs)  # non-consumable, already bought
    assert all(r.product is not None and r.reason in ("because_you_bought", "bought_together", "popular")
               for r in recs)


def test_unknown_user_falls_back_to_popular(service: RecommendationService) -> None:
    """A user never seen gets popular items, each with reason `popular`."""
    recs = service.recommend("stranger", k=3)
    assert len(recs) == 3 and {r.reason for r in recs} == {"popular"}


def test_bad_k_is_refused(service: RecommendationService) -> None:
    """k ≤ 0 or beyond max_k is an InvalidInputError naming the range."""
    for k in (0, -1, 101):
        with pytest.raises(InvalidInputError, match="between 1 and 100"):
            service.recommend("u0_0", k=k)


def test_room_on_stage_and_out_of_stock(service: RecommendationService, store) -> None:  # type: ignore[no-untyped-def]
    """In a room, the on-stage product leads as `live_now`; an out-of-stock line-up product never shows."""
    store.update_product("g3i2", stock=0)
    store.upsert_room("r1", lineup=["g3i0", "g3i2", "g4i0"], on_stage="g3i0")
    room = RoomState.load(store, "r1")
    service.invalidate_catalog()
    recs = service.recommend("u1_3", k=5, room=room, room_interest={"g4i0": 3.0})
    assert recs[0].item_id == "g3i0" and recs[0].reason == "live_now"
    assert "g3i2" not in ids(recs)
    assert any(r.item_id == "g4i0" and r.reason == "popular_in_room" for r in recs)


def test_pitch_next_prefers_room_interest_then_bought_together(service: RecommendationService, store) -> None:  # type: ignore[no-untyped-def]
    """Pitch-next picks from the line-up, never the on-stage product: asked-about first, then bought-with."""
    store.upsert_room("r2", lineup=["g2i0", "g2i1", "g0i0", "g4i2"], on_stage="g2i0")
    room = RoomState.load(store, "r2")
    recs = service.pitch_next(room, room_interest={"g4i2": 2.0}, k=3)
    assert ids(recs)[:2] == ["g4i2", "g2i1"] and "g2i0" not in ids(recs)
    assert recs[0].reason == "popular_in_room" and recs[1].reason == "bought_together"


def test_related_and_its_fallbacks(service: RecommendationService) -> None:
    """Related items are the group; a catalogue-only product gets its category; an unknown one is an error."""
    assert sorted(ids(service.related("g1i0", k=3))) == ["g1i1", "g1i2", "g1i3"]
    fallback = service.related("fresh", k=3)
    assert {r.item_id[:2] for r in fallback} == {"g2"} and {r.reason for r in fallback} == {"popular"}
    with pytest.raises(UnknownItemError):
        service.related("nothing-like-it")


def test_fresh_purchases_count_without_retrain(service: RecommendationService) -> None:
    """A new user's first basket immediately turns their list to that basket's group."""
    version = service.version
    out = service.add_purchases([{"user_id": "newbie", "item_id": "g4i0", "basket_id": "x"},
                                 {"user_id": "newbie", "item_id": "g4i2", "basket_id": "x"}])
    assert out == {"stored": 2, "users": 1, "known_items": 2}
    recs = service.recommend("newbie", k=4)
    assert {"g4i1", "g4i3"} <= set(ids(recs)) and service.version == version


def test_reload_swaps_the_active_model(service: RecommendationService, store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A model trained elsewhere and recorded as active is swapped in by reload; a new service starts from it."""
    other = RecommendationService(store, models_dir=tmp_path / "models", params=PARAMS)
    version = other.train()
    assert service.reload() == version and service.version == version
    started = RecommendationService(store, models_dir=tmp_path / "models").start()
    assert started.version == version and "g0i3" in ids(started.recommend("u0_0", k=4))


def test_empty_store_serves_catalogue(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """With no purchases and no model, the in-stock catalogue is served as `popular`."""
    store.upsert_products([{"id": "a", "title": "A", "stock": 1}, {"id": "b", "title": "B", "stock": 0}])
    svc = RecommendationService(store, models_dir=tmp_path / "m").start()
    assert svc.model is None
    assert ids(svc.recommend("anyone", k=5)) == ["a"]


def test_bad_weighting_setting_is_named(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A wrong CUECARD_ALS_WEIGHTING is refused with the setting's name, not a crash deep in training."""
    from api.settings import Settings
    from recsys.service import build_recommender

    settings = Settings(data_dir=tmp_path, als_weighting="tfidf")
    with pytest.raises(InvalidInputError, match="CUECARD_ALS_WEIGHTING"):
        build_recommender(store, settings)
