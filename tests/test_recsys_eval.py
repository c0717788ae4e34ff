"""The offline protocol and the `cuecard recsys` commands."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from api.cli import app
from recsys.evaluate import backtest, evaluate, evaluate_task, lift, lift_interval, pooled, ranking_metrics
from recsys.popularity import PopularityRecommender
from recsys.repeat import RepeatRecommender
from recsys.synthetic import grouped, grouped_frame


def test_ranking_metrics_known_values() -> None:
    """HR, NDCG and Recall by hand: hits at ranks 1 and 3 of 2 relevant items out of 3."""
    hr, ndcg, recall = ranking_metrics(np.array([5, 7, 9]), np.array([5, 9, 11]), k=3)
    assert hr == 1.0 and recall == pytest.approx(2 / 3)
    assert ndcg == pytest.approx((1 + 1 / np.log2(4)) / (1 + 1 / np.log2(3) + 1 / np.log2(4)))
    assert ranking_metrics(np.array([1]), np.array([2]), k=1) == (0.0, 0.0, 0.0)


def test_cross_sell_excludes_bought_and_skips_users_with_nothing_new() -> None:
    """Repeat scores perfectly on next basket here, and its cross-sell list holds no bought item."""
    data, _ = grouped()
    train, held = data.split_last()
    repeat = RepeatRecommender(fill_popular=False).fit(train)
    nb = evaluate_task(repeat, train, held, "next_basket")
    assert nb["hr"] == 1.0 and nb["users"] == data.n_users
    cs = evaluate_task(repeat, train, held, "cross_sell")
    # only the five test users' held-out baskets could hold a never-bought item, and they do not
    assert cs["users"] == 0 and cs["hr"] == 0.0


def test_cross_sell_counts_a_never_bought_item_and_leaves_bought_ones_out() -> None:
    """The withheld item in the test user's last basket is the one cross-sell target. A model that
    ranks the user's three bought items above it hits at k=3 only if the bought ones are left out."""
    import pandas as pd

    from recsys.data import Interactions

    frame, withheld = grouped_frame()
    user, item = next(iter(withheld.items()))
    last = pd.DataFrame([{"user": user, "item": item, "basket": f"{user}-b9", "seq": 9.0, "quantity": 1.0}])
    train, held = Interactions.from_frame(pd.concat([frame, last], ignore_index=True)).split_last()
    target = train.item_index[item]

    class BoughtThenTarget(RepeatRecommender):
        def scores(self, u: int | None, history: list[np.ndarray]) -> np.ndarray:
            s = super().scores(u, history)  # > 0 only on bought items
            s[target] = 1e-3
            return s

    model = BoughtThenTarget(fill_popular=False).fit(train)
    assert len(np.unique(np.concatenate(train.baskets(train.user_index[user])))) == 3
    cs = evaluate_task(model, train, held, "cross_sell", k=3)
    assert (cs["users"], cs["hr"], cs["recall"]) == (1, 1.0, 1.0)


def test_evaluate_runs_every_method_on_both_tasks() -> None:
    """`evaluate` returns {task: {method: metrics}} for each task and method."""
    data, _ = grouped()
    out = evaluate(data, {"popularity": PopularityRecommender, "repeat": RepeatRecommender})
    assert set(out) == {"next_basket", "cross_sell"} and set(out["next_basket"]) == {"popularity", "repeat"}
    assert out["next_basket"]["repeat"]["ndcg"] > out["next_basket"]["popularity"]["ndcg"]


def _same_results(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> bool:
    """Equal metrics, and equal per-user arrays."""
    def plain(r: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {t: {m: {k: v for k, v in met.items() if k not in ("per_user", "user_ids")} for m, met in ms.items()}
                for t, ms in r.items()}
    return plain(a) == plain(b) and all(np.array_equal(a[t][m][k], b[t][m][k]) for t in a for m in a[t]
                                        for k in ("per_user", "user_ids"))


def test_backtest_folds_are_the_protocol_one_basket_further_back() -> None:
    """Fold 1 is `evaluate(data)`, fold 2 is `evaluate` on the data without each user's last basket;
    with four baskets a user, only three folds have a basket to hold out and a history before it."""
    data, _ = grouped()
    methods = {"popularity": PopularityRecommender, "repeat": RepeatRecommender}
    runs = backtest(data, methods, folds=5)
    assert len(runs) == 3
    assert _same_results(runs[0], evaluate(data, methods))
    assert _same_results(runs[1], evaluate(data.split_last()[0], methods))
    assert [r["next_basket"]["repeat"]["users"] for r in runs] == [data.n_users] * 3
    with pytest.raises(ValueError, match="at least 1"):
        backtest(data, methods, folds=0)


def test_lift_is_cuecard_over_the_best_baseline_of_the_target() -> None:
    """cross_sell compares HR with popularity/als/item_knn only; next_basket NDCG with every other method."""
    def m(hr: float, ndcg: float) -> dict[str, float]:
        return {"hr": hr, "ndcg": ndcg}
    results = {"cross_sell": {"popularity": m(0.10, 0.0), "repeat": m(0.50, 0.0), "als": m(0.08, 0.0),
                              "item_knn": m(0.04, 0.0), "cuecard": m(0.13, 0.0)},
               "next_basket": {"popularity": m(0.0, 0.1), "repeat": m(0.0, 0.40), "als": m(0.0, 0.2),
                               "item_knn": m(0.0, 0.2), "cuecard": m(0.0, 0.42)}}
    assert lift(results, "cross_sell") == pytest.approx(1.3)  # repeat is not a cross-sell baseline
    assert lift(results, "next_basket") == pytest.approx(1.05)
    for name in ("popularity", "als", "item_knn"):
        results["cross_sell"][name]["hr"] = 0.0
    assert lift(results, "cross_sell") is None


def _cross_sell(cuecard: list[float], popularity: list[float]) -> dict[str, dict[str, Any]]:
    """cross_sell results whose per-user HRs are given (NDCG and recall 0), as `evaluate_task` keeps them."""
    def met(hrs: list[float]) -> dict[str, Any]:
        rows = np.zeros((len(hrs), 3), np.float32)
        rows[:, 0] = hrs
        return {"hr": float(np.mean(hrs)), "ndcg": 0.0, "recall": 0.0, "users": len(hrs),
                "per_user": rows, "user_ids": np.arange(len(hrs))}
    return {"cross_sell": {"popularity": met(popularity), "cuecard": met(cuecard)}}


def test_lift_interval_is_exact_when_every_user_scores_alike() -> None:
    """Resampling identical users cannot move the ratio: the interval is the lift itself."""
    results = _cross_sell([0.6] * 50, [0.5] * 50)
    lo, hi = lift_interval(results, "cross_sell")  # type: ignore[misc]
    assert lo == pytest.approx(1.2) and hi == pytest.approx(1.2)
    assert lift_interval(_cross_sell([1.0] * 5, [0.0] * 5), "cross_sell") is None  # no baseline hit: no ratio


def test_lift_interval_upper_bound_is_infinite_when_baselines_often_miss_everyone() -> None:
    """Popularity hits 1 of 20 users: about a third of the draws (0.95^20) hold no popularity hit, so
    the ratio is unbounded above; the lower bound stays finite."""
    lo, hi = lift_interval(_cross_sell([1.0] * 10 + [0.0] * 10, [1.0] + [0.0] * 19), "cross_sell")  # type: ignore[misc]
    assert np.isfinite(lo) and lo > 1.0 and hi == float("inf")


def test_lift_interval_needs_every_method_scored_on_the_same_users() -> None:
    """Rows of different users cannot be paired: no interval rather than a wrong one."""
    results = _cross_sell([1.0, 0.0, 1.0], [1.0, 1.0, 0.0])
    assert lift_interval(results, "cross_sell") is not None
    results["cross_sell"]["popularity"]["user_ids"] = np.array([2, 1, 0])
    assert lift_interval(results, "cross_sell") is None


def test_lift_interval_covers_the_true_ratio_and_narrows_with_more_users() -> None:
    """Hits drawn at 30% for cuecard and 20% for popularity (true ratio 1.5): the 95% interval over
    4,000 users holds 1.5 and is far narrower than over 250 users, where 1.2 is inside it too."""
    rng = np.random.default_rng(3)

    def interval(n: int) -> tuple[float, float]:
        out = lift_interval(_cross_sell(list(rng.random(n) < 0.3), list(rng.random(n) < 0.2)), "cross_sell")
        assert out is not None
        return out

    big, small = interval(4000), interval(250)
    assert big[0] < 1.5 < big[1] and big[1] - big[0] < 0.3
    assert small[0] < 1.2 < small[1] and small[1] - small[0] > 2 * (big[1] - big[0])


def test_pooled_interval_draws_a_shopper_with_all_their_baskets() -> None:
    """Two folds that are copies of one (each shopper twice, same scores) are no more certain than the
    one: drawing shoppers with all their rows gives the single fold's interval exactly; drawing the
    rows as if independent would have given a narrower one."""
    rng = np.random.default_rng(5)
    fold = _cross_sell(list(rng.random(200) < 0.3), list(rng.random(200) < 0.2))
    fold["next_basket"] = fold["cross_sell"]  # pooled pools both tasks
    one = lift_interval(fold, "cross_sell")
    both = pooled([fold, fold])
    rows_independent = {"cross_sell": {m: {**met, "user_ids": np.arange(400)} for m, met in both["cross_sell"].items()}}
    assert both["cross_sell"]["cuecard"]["user_ids"].tolist() == list(range(200)) * 2
    both_interval, rows_independent_interval = lift_interval(both, "cross_sell"), lift_interval(rows_independent, "cross_sell")
    assert one is not None and both_interval is not None and rows_independent_interval is not None
    assert both_interval == pytest.approx(one)
    assert rows_independent_interval[1] - rows_independent_interval[0] < 0.8 * (one[1] - one[0])


def test_evaluate_task_keeps_each_users_scores_in_user_order() -> None:
    """The per-user rows average to the reported means, one row per evaluated user."""
    data, _ = grouped()
    train, held = data.split_last()
    nb = evaluate_task(RepeatRecommender().fit(train), train, held, "next_basket", k=3)
    rows = np.array(nb["per_user"])
    assert rows.shape == (nb["users"], 3)
    assert rows.mean(axis=0) == pytest.approx([nb["hr"], nb["ndcg"], nb["recall"]])
    assert nb["user_ids"].tolist() == list(held)  # every held-out user, in the order `held` lists them
    cs = evaluate_task(RepeatRecommender().fit(train), train, held, "cross_sell", k=3)
    with_new = [u for u, basket in held.items() if np.setdiff1d(basket, np.concatenate(train.baskets(u))).size]
    assert cs["user_ids"].tolist() == with_new


def test_pooled_weighs_each_fold_by_its_users() -> None:
    """One fold of 1 user at HR 1 and one of 3 users at HR 0 pool to 0.25."""
    def fold(hr: float, users: int) -> dict[str, dict[str, dict[str, float]]]:
        met = {"hr": hr, "ndcg": hr / 2, "recall": hr / 4, "coverage": 0.5, "users": users}
        return {"next_basket": {"cuecard": dict(met)}, "cross_sell": {"cuecard": dict(met)}}
    out = pooled([fold(1.0, 1), fold(0.0, 3)])
    assert out["cross_sell"]["cuecard"] == {"hr": 0.25, "ndcg": 0.125, "recall": 0.0625, "users": 4}


@pytest.fixture
def purchases_csv(tmp_path: Path) -> Path:
    frame, _ = grouped_frame()
    path = tmp_path / "orders.csv"
    frame.rename(columns={"user": "customer", "item": "sku", "basket": "order", "seq": "n"}).to_csv(path, index=False)
    return path


def test_cli_eval_json(purchases_csv: Path) -> None:
    """`recsys eval --json` prints one object with both tasks and all five methods."""
    result = CliRunner().invoke(app, ["recsys", "eval", "--purchases", str(purchases_csv), "--user-col", "customer",
                                      "--item-col", "sku", "--basket-col", "order", "--order-col", "n", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"next_basket", "cross_sell", "tuning", "halves"} <= set(out)  # other tasks may add keys
    assert set(out["halves"]) == {"tuned", "held_out"} and len(out["tuning"]) == 1
    assert set(out["next_basket"]) == {"popularity", "repeat", "als", "item_knn", "cuecard"}
    assert set(out["next_basket"]["cuecard"]) == {"hr", "ndcg", "recall", "coverage"}


def test_cli_eval_folds_json(purchases_csv: Path) -> None:
    """`--folds 2 --json` adds both folds, the pooled means and cuecard's lift per fold to the plain object."""
    result = CliRunner().invoke(app, ["recsys", "eval", "--purchases", str(purchases_csv), "--user-col", "customer",
                                      "--item-col", "sku", "--basket-col", "order", "--order-col", "n",
                                      "--folds", "2", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"next_basket", "cross_sell", "folds", "pooled", "lift", "lift_interval", "lift_pooled",
            "lift_interval_pooled", "tuning", "halves"} <= set(out)  # other tasks may add keys
    assert len(out["folds"]) == 2 and out["folds"][0]["next_basket"] == out["next_basket"]
    for fold, ratio in zip(out["folds"], out["lift"]["next_basket"], strict=True):
        best = max(fold["next_basket"][m]["ndcg"] for m in ("popularity", "repeat", "als", "item_knn"))
        assert ratio == pytest.approx(fold["next_basket"]["cuecard"]["ndcg"] / best, abs=1e-3)
    # every method is fitted on the folds' training parts: the pooled users are both folds' users
    assert out["pooled"]["next_basket"]["cuecard"]["users"] == 200
    # an interval per fold and task, where there is a lift; "per_user" rows stay out of the JSON
    for task in ("next_basket", "cross_sell"):
        assert [b is None for b in out["lift_interval"][task]] == [r is None for r in out["lift"][task]]
    assert not {"per_user", "user_ids"} & set(out["folds"][0]["cross_sell"]["cuecard"])
    pooled_nb = out["pooled"]["next_basket"]
    best = max(pooled_nb[m]["ndcg"] for m in ("popularity", "repeat", "als", "item_knn"))
    assert out["lift_pooled"]["next_basket"] == pytest.approx(pooled_nb["cuecard"]["ndcg"] / best, abs=1e-3)
    assert (out["lift_interval_pooled"]["next_basket"] is None) == (out["lift_pooled"]["next_basket"] is None)


def test_cli_eval_prints_the_lift_with_its_interval(purchases_csv: Path) -> None:
    """Without --folds the tables end with cuecard ÷ the best baseline and its bootstrap interval."""
    result = CliRunner().invoke(app, ["recsys", "eval", "--purchases", str(purchases_csv), "--user-col", "customer",
                                      "--item-col", "sku", "--basket-col", "order", "--order-col", "n"])
    assert result.exit_code == 0, result.output
    assert "cuecard ÷ best baseline" in result.stdout and "95% interval, the users resampled" in result.stdout
    assert re.search(r"\d\.\d{3}× \[\d\.\d\d–\d\.\d\d\]", result.stdout)  # next_basket's ratio with its interval
    assert "pooled" not in result.stdout


def test_cli_unknown_column_is_a_clear_error(purchases_csv: Path) -> None:
    """An unknown column exits non-zero and names the file's columns."""
    result = CliRunner().invoke(app, ["recsys", "eval", "--purchases", str(purchases_csv), "--user-col", "nope"])
    assert result.exit_code != 0
    assert "nope" in str(result.exception) and "customer" in str(result.exception)


def test_cli_train_records_active_model(purchases_csv: Path, tmp_path: Path) -> None:
    """`recsys train` saves a model under the data dir and records it as the active recommender."""
    data_dir = tmp_path / "var"
    result = CliRunner().invoke(app, ["recsys", "train", "--purchases", str(purchases_csv), "--user-col", "customer",
                                      "--item-col", "sku", "--basket-col", "order", "--order-col", "n",
                                      "--no-tune", "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["users"] == 100 and (Path(out["path"]) / "model.npz").is_file()
    from knowledge.store import Store

    store = Store(f"sqlite:///{(data_dir / 'cuecard.db').resolve()}")
    try:
        assert store.active_model("recommender")["version"] == out["version"]
    finally:
        store.close()
