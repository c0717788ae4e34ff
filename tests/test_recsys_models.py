"""Every recommender against data with a known answer: a user's withheld group item comes out first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.als import ALSRecommender
from recsys.base import Recommender, top_k
from recsys.blend import BlendParams, BlendRecommender
from recsys.data import Interactions
from recsys.ease import EASERecommender
from recsys.errors import ModelFormatError
from recsys.item_knn import ItemKNNRecommender
from recsys.popularity import PopularityRecommender, trial_counts
from recsys.repeat import RepeatRecommender, decayed_profile
from recsys.synthetic import grouped


class RecommenderContract:
    """Run against every personalised model (subclasses set `make`)."""

    def make(self) -> Recommender:
        raise NotImplementedError

    @pytest.fixture(scope="class")
    def fitted(self) -> tuple[Recommender, Interactions, dict[str, str]]:
        data, withheld = grouped()
        return self.make().fit(data), data, withheld

    def test_withheld_item_comes_first(self, fitted) -> None:
        """Each test user's one unbought group item is the first recommendation among unbought items."""
        model, data, withheld = fitted
        for user, item in withheld.items():
            u = data.user_index[user]
            history = data.baskets(u)
            bought = np.unique(np.concatenate(history))
            ids, _ = model.recommend(u, history, k=3, exclude=bought)
            assert data.item_ids[ids[0]] == item, (user, data.item_ids[ids].tolist())

    def test_fresh_user_gets_group_items(self, fitted) -> None:
        """A user the model never saw, with one basket, is recommended the rest of that basket's group."""
        model, data, _ = fitted
        history = [np.array([data.item_index["g2i0"], data.item_index["g2i1"]])]
        ids, _ = model.recommend(None, history, k=2, exclude=history[0])
        assert sorted(data.item_ids[ids].tolist()) == ["g2i2", "g2i3"]

    def test_similar_items_are_in_the_group(self, fitted) -> None:
        """An item's nearest neighbours are the other items of its group."""
        model, data, _ = fitted
        ids, scores = model.similar_items(data.item_index["g1i0"], k=3)
        assert sorted(data.item_ids[ids].tolist()) == ["g1i1", "g1i2", "g1i3"]
        assert np.all(np.diff(scores) <= 1e-6)

    def test_save_load_round_trip(self, fitted, tmp_path: Path) -> None:
        """A saved model loads without pickle and scores exactly as before."""
        model, data, _ = fitted
        model.save(tmp_path / "m")
        loaded = type(model).load(tmp_path / "m")
        for u in (0, 7, 42):
            np.testing.assert_allclose(loaded.scores(u, data.baskets(u)), model.scores(u, data.baskets(u)),
                                       rtol=1e-5, atol=1e-6)

    def test_k_larger_than_catalogue(self, fitted) -> None:
        """Asking for more items than exist returns each item at most once."""
        model, data, _ = fitted
        ids, _ = model.recommend(0, data.baskets(0), k=1000)
        assert len(ids) == len(set(ids.tolist())) <= data.n_items


class TestItemKNN(RecommenderContract):
    def make(self) -> Recommender:
        return ItemKNNRecommender(neighbours=10)


class TestALS(RecommenderContract):
    def make(self) -> Recommender:
        return ALSRecommender(factors=8, iterations=30, regularization=0.1, alpha=10.0, weighting="none")


class TestEASE(RecommenderContract):
    def make(self) -> Recommender:
        return EASERecommender(regularization=5.0)


class TestBlend(RecommenderContract):
    def make(self) -> Recommender:
        return BlendRecommender(BlendParams(als_factors=8, als_weighting="none", als_alpha=10.0, als=0.2, knn=0.2,
                                            ease_regularization=5.0))


def test_repeat_ranks_by_decayed_frequency() -> None:
    """Plain frequency puts the most bought first; with decay a recent habit beats an old one."""
    a, b = 0, 1
    history = [np.array([a]), np.array([a]), np.array([a]), np.array([b]), np.array([b])]
    plain = RepeatRecommender(decay=1.0, n_items=3)
    assert top_k(plain.scores(None, history), 1)[0].tolist() == [a]
    decayed = RepeatRecommender(decay=0.5, n_items=3)
    assert top_k(decayed.scores(None, history), 1)[0].tolist() == [b]
    np.testing.assert_allclose(decayed_profile(history, 3, 1.0), [0.6, 0.4, 0.0])


def test_repeat_rejects_bad_decay() -> None:
    """A decay outside (0, 1] is refused."""
    with pytest.raises(ValueError, match="decay"):
        RepeatRecommender(decay=0.0)


def test_popularity_global_and_per_category() -> None:
    """Popularity counts distinct buyers; per category it ranks only that category's items."""
    data, _ = grouped()
    model = PopularityRecommender().fit(data)
    assert model.counts[data.item_index["g0i0"]] == 20 and model.counts[data.item_index["g0i3"]] == 19
    model.set_categories([s[:2] for s in data.item_ids.tolist()])
    ids, _ = model.top_in_category("g3", k=10)
    assert sorted(data.item_ids[ids].tolist()) == ["g3i0", "g3i1", "g3i2", "g3i3"]
    assert len(model.top_in_category("nope")[0]) == 0


def test_trial_counts_first_purchases_after_the_first_basket() -> None:
    """An item counts once per user who first bought it in a later basket."""
    frame_rows = [("u1", "a", "1", 1), ("u1", "b", "2", 2), ("u1", "b", "3", 3), ("u2", "b", "1", 1),
                  ("u2", "a", "2", 2)]
    import pandas as pd

    frame = pd.DataFrame(frame_rows, columns=["user", "item", "basket", "seq"]).assign(quantity=1.0)
    data = Interactions.from_frame(frame)
    counts = dict(zip(data.item_ids.tolist(), trial_counts(data).tolist(), strict=True))
    assert counts == {"a": 1.0, "b": 1.0}


def test_load_refuses_other_kinds_and_versions(tmp_path: Path) -> None:
    """Loading a model of another kind, or a damaged one, raises a clear ModelFormatError."""
    data, _ = grouped()
    ItemKNNRecommender().fit(data).save(tmp_path / "knn")
    with pytest.raises(ModelFormatError, match="item_knn"):
        EASERecommender.load(tmp_path / "knn")
    (tmp_path / "knn" / "meta.json").write_text('{"format_version": 99, "kind": "item_knn"}')
    with pytest.raises(ModelFormatError, match="format 99"):
        ItemKNNRecommender.load(tmp_path / "knn")
    with pytest.raises(ModelFormatError, match="recsys train"):
        ItemKNNRecommender.load(tmp_path / "missing")


def test_blend_serving_parts_equal_each_part_scored_alone() -> None:
    """The fused serving path (one gather for EASE and bought-together) gives every part bit for bit."""
    from recsys.synthetic import shop_history

    data = shop_history(400, 120, 6000, seed=3)
    model = BlendRecommender(BlendParams(als_iterations=2, als_factors=8)).fit(data)
    p = model.params
    for u in range(0, data.n_users, 7):
        history = data.baskets(u)
        items, counts = np.unique(np.concatenate(history), return_counts=True)
        parts = model.parts(u, history)
        ease, knn = model.ease.scores_from_items(items), model.knn.scores(u, history)
        np.testing.assert_array_equal(parts["repeat"], decayed_profile(history, data.n_items, p.decay))
        np.testing.assert_array_equal(parts["ease"], ease / ease.max())
        np.testing.assert_array_equal(parts["knn"], knn / knn.max())
        explore = (p.trial * parts["trial"] + 1e-6 * parts["trial"] + p.ease * parts["ease"]
                   + p.als * parts["als"] + p.knn * parts["knn"])
        np.testing.assert_array_equal(model.scores(u, history), parts["repeat"] + p.explore * explore)
    # a user with no history: every personal part is zero, the trial popularity still ranks
    empty = model.parts(None, [])
    assert not empty["repeat"].any() and not empty["ease"].any() and not empty["knn"].any()


def test_top_k_with_likely_items_gives_the_same_answer() -> None:
    """`likely` only bounds the search: the same scores in the same order, the exact top k by (score, id)."""
    rng = np.random.default_rng(5)
    for trial in range(200):
        scores = rng.integers(0, 6, 300).astype(np.float32) / 5  # many ties
        likely = rng.choice(300, size=int(rng.integers(0, 40)), replace=False)
        exclude = rng.choice(300, size=5, replace=False) if trial % 2 else None
        k = int(rng.integers(1, 30))
        _, want_scores = top_k(scores, k, exclude)
        ids, got = top_k(scores, k, exclude, likely=likely)
        np.testing.assert_array_equal(got, want_scores)
        masked = scores.copy()
        if exclude is not None:
            masked[exclude] = -np.inf
        if len(likely) >= k and np.isfinite(masked[likely]).sum() >= k:
            # the bounded path breaks ties at the cut by item id too (argpartition picks any of them)
            np.testing.assert_array_equal(ids, np.lexsort((np.arange(300), -masked))[:k])
