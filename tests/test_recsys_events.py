"""Widget events as implicit feedback: a shopper known only from clicks and purchases on the widget
is known to the recommender after a retrain, and their group's items come first; without
`event_weights` the same events are ignored."""

from __future__ import annotations

from pathlib import Path

from knowledge.events import EventStore
from recsys.blend import BlendParams
from recsys.service import RecommendationService
from recsys.synthetic import grouped_frame

PARAMS = BlendParams(als_factors=8, als_weighting="none", als_alpha=10.0, ease_regularization=5.0)
WEIGHTS = {"impression": 0.0, "click": 0.3, "add_to_cart": 0.6, "purchase": 1.0}


def _seed(store) -> None:  # type: ignore[no-untyped-def]
    frame, _ = grouped_frame()
    store.add_purchases([{"user_id": r.user, "item_id": r.item, "basket_id": r.basket, "order_no": int(r.seq)}
                         for r in frame.itertuples()])
    store.upsert_products([{"id": f"g{g}i{j}", "title": f"item {g}-{j}", "category": f"cat{g}", "stock": 10}
                           for g in range(5) for j in range(4)])
    # a widget-only shopper: clicked and bought two items of group 3, only saw an item of group 0
    EventStore(store).add([{"kind": "click", "item_id": "g3i0", "user_id": "web-1"},
                           {"kind": "purchase", "item_id": "g3i1", "user_id": "web-1"},
                           {"kind": "impression", "item_id": "g0i0", "user_id": "web-1"}])


def test_events_make_a_widget_shopper_known_with_their_group_first(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """After training with event weights, web-1 is a known user and group 3's other items lead."""
    _seed(store)
    svc = RecommendationService(store, models_dir=tmp_path / "m", params=PARAMS, event_weights=WEIGHTS)
    svc.train()
    assert svc.model is not None and svc.model.knows_user("web-1")
    top = [r.item_id for r in svc.recommend("web-1", k=6) if r.item_id not in {"g3i0", "g3i1"}][:2]
    assert set(top) <= {"g3i2", "g3i3"}, top


def test_without_event_weights_events_are_ignored(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The default service (no event_weights) trains on purchases only: web-1 stays unknown."""
    _seed(store)
    svc = RecommendationService(store, models_dir=tmp_path / "m", params=PARAMS)
    svc.train()
    assert svc.model is not None and not svc.model.knows_user("web-1")
