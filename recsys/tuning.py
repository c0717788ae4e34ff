"""Fit the blend to the shop: its weights chosen on validation shoppers carved from the training data.

A random sample of shoppers (by shopper, at most `max_users`; only those of one `shopper_half`
when asked, so an evaluation can report on the other half) has its last training basket held
out; the blend's parts are fitted ONCE on everything else, and each validation shopper's part
scores are kept only on a few hundred candidates (their own purchases and each part's top
`CANDIDATES`), so a grid costs milliseconds per setting. Four weights are tuned, in two stages
(few, because a few thousand validation shoppers cannot tell finer settings apart, and fewer
weights generalise better to shoppers the tuning never saw):
1. on cross-sell (items the shopper never bought; HR@10, NDCG@10 breaking ties): the weights of
   bought-together (`knn`) and trial popularity (`trial`), with EASE at 1 and ALS at its default;
2. on the whole next basket (NDCG@10): the repeat `decay` and the `explore` share.
The model never imports this module: the caller passes `tune_blend` in as the blend's tuner.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from recsys.blend import BlendParams, BlendRecommender
from recsys.data import Interactions, shopper_half
from recsys.metrics import batch_metrics, batch_top
from recsys.repeat import decayed_profile

TUNED = ("knn", "trial", "decay", "explore")
GRID_KNN = (0.0, 0.2, 0.5)
GRID_TRIAL = (0.0, 0.3, 1.0, 3.0, 10.0)
GRID_CATEGORY = (0.0, 0.3, 1.0, 3.0)  # only when the history has categories (`--category-col`)
GRID_DECAY = (0.7, 0.85, 1.0)
GRID_EXPLORE = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
CANDIDATES = 100
K = 10


def validation_users(data: Interactions, max_users: int, seed: int, half: int | None) -> np.ndarray:
    """Up to `max_users` shoppers with two or more baskets (in `half` only, when given), sorted."""
    eligible = np.flatnonzero(np.diff(data.user_ptr) >= 2)
    if half is not None:
        eligible = eligible[shopper_half(data.user_ids[eligible]) == half]
    if len(eligible) > max_users:
        eligible = np.sort(np.random.default_rng(seed).choice(eligible, max_users, replace=False))
    return eligible


def _best(scores: np.ndarray) -> np.ndarray:
    """The `CANDIDATES` best items of one part (all of them on a small catalogue)."""
    if len(scores) <= CANDIDATES:
        return np.arange(len(scores))
    return np.argpartition(-scores, CANDIDATES)[:CANDIDATES]


def _rows(model: BlendRecommender, train: Interactions, held: dict[int, np.ndarray],
          progress: bool) -> list[dict[str, Any]]:
    """Per validation shopper: candidates, every part's score on them, and what the held basket holds."""
    trial_top = _best(model._trial_scaled)
    rows = []
    for u in tqdm(list(held), desc="tune: score validation shoppers", disable=not progress, leave=False):
        history = train.baskets(u)
        if not history:
            continue
        parts = model.parts(u, history)
        bought = parts["bought"]
        pools = [bought, trial_top] + [_best(parts[p]) for p in ("ease", "als", "knn", "category") if p in parts]
        cand = np.unique(np.concatenate(pools))
        rows.append({
            "cand": cand, "history": history, "is_bought": np.isin(cand, bought),
            "held": held[u], "new": np.setdiff1d(held[u], bought),
            **{p: parts[p][cand] if p in parts else np.zeros(len(cand), np.float32) for p in PART_NAMES},
        })
    return rows


PART_NAMES = ("ease", "als", "knn", "trial", "category")


def _padded(rows: list[dict[str, Any]], n_items: int) -> dict[str, np.ndarray]:
    """The rows as (shoppers × longest candidate list) matrices, padding cells scored -inf, so every
    grid setting is ranked and measured for all shoppers at once (`batch_top`, `batch_metrics`)."""
    width = max(len(r["cand"]) for r in rows)
    out = {name: np.zeros((len(rows), width), np.float32) for name in PART_NAMES}
    out["pad"] = np.ones((len(rows), width), bool)
    for key in ("bought", "held", "new"):
        out[key] = np.zeros((len(rows), width), bool)
    for decay in GRID_DECAY:
        out[f"repeat{decay}"] = np.zeros((len(rows), width), np.float32)
    for i, r in enumerate(rows):
        m = len(r["cand"])
        for name in PART_NAMES:
            out[name][i, :m] = r[name]
        out["pad"][i, :m] = False
        out["bought"][i, :m] = r["is_bought"]
        out["held"][i, :m] = np.isin(r["cand"], r["held"])
        out["new"][i, :m] = np.isin(r["cand"], r["new"])
        for decay in GRID_DECAY:
            out[f"repeat{decay}"][i, :m] = decayed_profile(r["history"], n_items, decay)[r["cand"]]
    out["n_held"] = np.array([len(r["held"]) for r in rows])
    out["n_new"] = np.array([len(r["new"]) for r in rows])
    return out


def _explore(m: dict[str, np.ndarray], params: BlendParams, w_knn: float, w_trial: float,
             w_cat: float) -> np.ndarray:
    return (params.ease * m["ease"] + params.als * m["als"] + w_knn * m["knn"]
            + (w_trial + 1e-6) * m["trial"] + w_cat * m["category"])


def tune_blend(data: Interactions, params: BlendParams, max_users: int = 1500, seed: int = 0,
               half: int | None = None, progress: bool = False) -> tuple[BlendParams, dict[str, Any]]:
    """Pick the blend's tuned weights (`TUNED`) on validation shoppers of `data`; return (params, report)."""
    users = validation_users(data, max_users, seed, half)
    if not len(users):
        return params, {"skipped": "no shopper has two baskets to carve a validation basket from"}
    train, held = data.split_last(users)
    categories = data.item_category is not None and bool((data.item_category >= 0).any())
    model = BlendRecommender(replace(params, knn=max(params.knn, 1e-3), trial=0.0,
                                     category=1.0 if categories else 0.0), progress=progress)
    model.fit_parts(train)
    rows = _rows(model, train, held, progress)
    if not rows:
        return params, {"skipped": "no validation shopper has a training basket left"}

    m = _padded(rows, train.n_items)
    has_new = m["n_new"] > 0

    def cross_sell(w_knn: float, w_trial: float, w_cat: float) -> tuple[float, float]:
        s = np.where(m["bought"] | m["pad"], -np.inf, _explore(m, params, w_knn, w_trial, w_cat))[has_new]
        scored = batch_metrics(batch_top(s, K), m["new"][has_new], K, m["n_new"][has_new])
        return tuple(scored[:, :2].mean(axis=0)) if len(scored) else (0.0, 0.0)  # type: ignore[return-value]

    grid1 = list(itertools.product(GRID_KNN, GRID_TRIAL, GRID_CATEGORY if categories else (0.0,)))
    stage1 = {g: cross_sell(*g) for g in tqdm(grid1, desc="tune: cross-sell", disable=not progress, leave=False)}
    w_knn, w_trial, w_cat = max(stage1, key=lambda g: stage1[g])
    explore = _explore(m, params, w_knn, w_trial, w_cat)

    def next_basket(decay: float, share: float) -> float:
        s = np.where(m["pad"], -np.inf, m[f"repeat{decay}"] + share * explore)
        return float(batch_metrics(batch_top(s, K), m["held"], K, m["n_held"])[:, 1].mean())

    grid2 = list(itertools.product(GRID_DECAY, GRID_EXPLORE))
    stage2 = {g: next_basket(*g) for g in tqdm(grid2, desc="tune: next basket", disable=not progress, leave=False)}
    decay, share = max(stage2, key=lambda g: stage2[g])
    tuned = replace(params, knn=w_knn, trial=w_trial, category=w_cat, decay=decay, explore=share)
    report = {"validation_users": len(rows), "half": half,
              "tuned": list(TUNED) + (["category"] if categories else []),
              "cross_sell_hr_ndcg": [round(v, 4) for v in stage1[(w_knn, w_trial, w_cat)]],
              "next_basket_ndcg": round(stage2[(decay, share)], 4),
              "chosen": {"knn": w_knn, "trial": w_trial, **({"category": w_cat} if categories else {}),
                         "decay": decay, "explore": share}}
    return tuned, report
