"""Fitting the blend to the shop: validation shoppers by half, batched metrics, the category signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from recsys.blend import BlendParams, BlendRecommender
from recsys.data import Columns, Interactions, canonical_frame, shopper_half
from recsys.metrics import batch_metrics, batch_top, ranking_metrics
from recsys.synthetic import grouped
from recsys.tuning import TUNED, tune_blend, validation_users


def test_batch_metrics_equal_ranking_metrics_row_by_row() -> None:
    """Ranking and measuring a batch at once gives each row's `ranking_metrics` (ties kept apart)."""
    rng = np.random.default_rng(1)
    scores = rng.random((50, 300)).astype(np.float32)
    scores[:, :5] = -np.inf  # excluded items never come back
    relevant = rng.random((50, 300)) < 0.05
    recs = batch_top(scores, 10)
    got = batch_metrics(recs, relevant, 10)
    for i in range(50):
        want = ranking_metrics(np.argsort(-scores[i], kind="stable")[:10], np.flatnonzero(relevant[i]), 10)
        assert np.allclose(got[i], want)
    assert not np.isin(recs, np.arange(5)).any()


def test_validation_shoppers_come_from_one_half_only() -> None:
    """With `half`, every validation shopper hashes to that half, so the other half is never tuned on."""
    data, _ = grouped()
    users = validation_users(data, max_users=10_000, seed=0, half=1)
    assert len(users) > 20
    assert (shopper_half(data.user_ids[users]) == 1).all()
    assert (np.diff(data.user_ptr)[users] >= 2).all()


def test_tuning_reports_the_weights_it_chose_and_the_blend_saves_them(tmp_path: Path) -> None:
    """The tuner passed in sets the tuned weights; they are saved with the model and come back on load."""
    data, _ = grouped()
    model = BlendRecommender(BlendParams(), tuner=lambda d, p: tune_blend(d, p, half=0)).fit(data)
    chosen = model.tuning_report["chosen"]
    assert set(chosen) == set(TUNED)
    assert all(getattr(model.params, name) == value for name, value in chosen.items())
    loaded = BlendRecommender.load(model.save(tmp_path / "m"))
    assert loaded.tuning_report["chosen"] == chosen and loaded.params == model.params


def test_category_column_an_item_takes_its_most_frequent_category() -> None:
    """Lines without a category keep their item; the item takes the category most of its lines carry."""
    raw = pd.DataFrame({"u": ["a", "a", "b", "b", "c"], "i": ["x", "y", "x", "y", "x"],
                        "o": ["1", "2", "1", "2", "1"], "cat": ["milk", "", "milk", None, "tea"]})
    frame, report = canonical_frame(raw, Columns("u", "i", order="o", category="cat"))
    data = Interactions.from_frame(frame)
    assert report.kept == 5
    cat = data.item_category
    assert cat is not None
    x, y = data.item_index["x"], data.item_index["y"]
    assert cat[y] == -1 and cat[x] >= 0  # y never has a category; x is "milk" (2 lines) over "tea" (1)
    assert cat[x] == 0  # codes in order of first appearance: "milk" is 0, "tea" 1


def test_category_part_scores_only_the_shoppers_categories() -> None:
    """The category part lifts unbought items of the categories a shopper buys from, and no others."""
    raw = pd.DataFrame({"u": ["a", "a", "b", "b", "b", "c"], "i": ["x", "y", "x", "z", "w", "w"],
                        "o": ["1", "2", "1", "1", "2", "1"], "cat": ["milk", "milk", "milk", "tea", "tea", "tea"]})
    data = Interactions.from_frame(canonical_frame(raw, Columns("u", "i", order="o", category="cat"))[0])
    model = BlendRecommender(BlendParams(category=1.0, ease=0.0, als=0.0, knn=0.0)).fit_parts(data)
    parts = model.parts(None, [np.array([data.item_index["x"]])])
    ix = data.item_index
    assert parts["category"][ix["y"]] > 0 and parts["category"][ix["z"]] == 0 and parts["category"][ix["w"]] == 0


def test_service_describes_the_weights_and_how_they_were_chosen(tmp_path: Path) -> None:
    """`describe()` (shown by /health) gives the live model's weights and its tuning report."""
    from recsys.service import RecommendationService

    data, _ = grouped()
    service = RecommendationService.__new__(RecommendationService)
    service._model, service.version = BlendRecommender(BlendParams(knn=0.5)).fit_parts(data), "v1"
    described = service.describe()
    assert described is not None and described["version"] == "v1"
    assert described["weights"]["knn"] == 0.5 and "fixed" in described["tuning"]
