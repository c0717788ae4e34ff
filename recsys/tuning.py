"""Tune the blend's weights on validation baskets carved from the training data only.

Fold 1 holds out each user's last training basket, fold 2 the one before, fold 3 the one before
that (each from the data that remains), so no basket an evaluation holds out is ever looked at. Two stages, each a small grid
(small, because a few hundred validation users cannot tell finer settings apart):
1. explore weights (EASE regularisation, ALS, bought-together, trial popularity) on cross-sell:
   items the user never bought, HR@10 with NDCG@10 breaking ties;
2. repeat decay and the explore share on the whole next basket, NDCG@10.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from recsys.als import ALSRecommender
from recsys.base import top_k
from recsys.blend import scaled
from recsys.data import Interactions
from recsys.ease import EASERecommender
from recsys.evaluate import ranking_metrics
from recsys.item_knn import ItemKNNRecommender
from recsys.popularity import trial_counts
from recsys.repeat import decayed_profile

GRID_EASE_REG = (150.0, 300.0, 600.0)
GRID_ALS = (0.0, 0.2)
GRID_KNN = (0.0, 0.2)
GRID_TRIAL = (0.0, 0.1, 0.3)
GRID_DECAY = (0.8, 0.85, 0.9, 0.95, 1.0)
GRID_EXPLORE = (0.02, 0.05, 0.1, 0.2)
K = 10


def _fold(train: Interactions, held: dict[int, np.ndarray], params: Any, users: list[int],
          progress: bool) -> dict[str, Any]:
    """Per validation user, every part's scores (fitted on the fold's training part)."""
    als = ALSRecommender(params.als_factors, params.als_regularization, params.als_alpha,
                         params.als_iterations, params.als_weighting).fit(train)
    knn = ItemKNNRecommender(params.knn_neighbours).fit(train)
    eases = {reg: EASERecommender(reg, params.ease_max_items, params.ease_neighbours).fit(train)
             for reg in GRID_EASE_REG}
    trial = scaled(trial_counts(train))
    rows = []
    for u in tqdm(users, desc="tuning", disable=not progress, leave=False):
        history = train.baskets(u)
        bought = np.unique(np.concatenate(history))
        rows.append({
            "history": history, "bought": bought, "held": held[u],
            "new": np.setdiff1d(held[u], bought),
            "als": scaled(als.scores(u, history)), "knn": scaled(knn.scores(u, history)),
            "ease": {reg: scaled(m.scores(u, history)) for reg, m in eases.items()},
        })
    return {"rows": rows, "trial": trial, "n_items": train.n_items}


def _explore(row: dict[str, Any], trial: np.ndarray, reg: float, w_als: float, w_knn: float,
             w_trial: float) -> np.ndarray:
    return row["ease"][reg] + w_als * row["als"] + w_knn * row["knn"] + (w_trial + 1e-6) * trial


def tune_blend(data: Interactions, params: Any, max_users: int = 1500, seed: int = 0, n_folds: int = 3,
               progress: bool = False) -> tuple[Any, dict[str, Any]]:
    """Pick the blend's weights on `n_folds` validation folds of `data`; return (params, report)."""
    rng = np.random.default_rng(seed)
    folds = []
    rest = data
    for _ in range(n_folds):
        rest, held = rest.split_last()
        candidates = [u for u in held if rest.user_ptr[u + 1] > rest.user_ptr[u]]
        if len(candidates) > max_users:
            candidates = sorted(rng.choice(candidates, max_users, replace=False).tolist())
        if candidates:
            folds.append(_fold(rest, held, params, candidates, progress))
    if not folds:
        return params, {"skipped": "too few baskets per user to carve validation baskets"}

    def cross_sell(reg: float, w_als: float, w_knn: float, w_trial: float) -> tuple[float, float]:
        sums, n = np.zeros(2), 0
        for fold in folds:
            for row in fold["rows"]:
                if not len(row["new"]):
                    continue
                recs, _ = top_k(_explore(row, fold["trial"], reg, w_als, w_knn, w_trial), K, row["bought"])
                hr, ndcg, _ = ranking_metrics(recs, row["new"], K)
                sums += (hr, ndcg)
                n += 1
        return tuple(sums / max(n, 1))  # type: ignore[return-value]

    grid = list(itertools.product(GRID_EASE_REG, GRID_ALS, GRID_KNN, GRID_TRIAL))
    stage1 = {g: cross_sell(*g) for g in tqdm(grid, desc="tune cross-sell", disable=not progress, leave=False)}
    reg, w_als, w_knn, w_trial = max(stage1, key=lambda g: stage1[g])

    explores = [[_explore(row, fold["trial"], reg, w_als, w_knn, w_trial) for row in fold["rows"]]
                for fold in folds]

    def next_basket(decay: float, share: float) -> float:
        total, n = 0.0, 0
        for fold, fold_explore in zip(folds, explores, strict=True):
            for row, explore in zip(fold["rows"], fold_explore, strict=True):
                s = decayed_profile(row["history"], fold["n_items"], decay) + share * explore
                recs, _ = top_k(s, K)
                total += ranking_metrics(recs, row["held"], K)[1]
                n += 1
        return total / max(n, 1)

    stage2 = {(d, e): next_basket(d, e) for d, e in tqdm(list(itertools.product(GRID_DECAY, GRID_EXPLORE)),
                                                          desc="tune next basket", disable=not progress,
                                                          leave=False)}
    decay, share = max(stage2, key=lambda g: stage2[g])
    tuned = replace(params, ease_regularization=reg, als=w_als, knn=w_knn, trial=w_trial, decay=decay,
                    explore=share, ease=1.0)
    report = {"validation_users": sum(len(f["rows"]) for f in folds), "folds": len(folds),
              "cross_sell_hr_ndcg": [round(v, 4) for v in stage1[(reg, w_als, w_knn, w_trial)]],
              "next_basket_ndcg": round(stage2[(decay, share)], 4),
              "chosen": {"ease_regularization": reg, "als": w_als, "knn": w_knn, "trial": w_trial,
                         "decay": decay, "explore": share}}
    return tuned, report
