"""The `replenishment` task of `cuecard recsys eval`: which items a shopper bought before will be rebought.

Fold 1 holds out each shopper's last basket, fold f the f-th from last (the later ones dropped);
the model is fitted on the baskets before it. Among the items the shopper bought before, each method
ranks those the held-out basket will contain; shoppers whose held-out basket rebuys nothing are
skipped (nothing to find). Precision@K = hits ÷ K, Recall@K = hits ÷ rebought items.

Methods: `most_frequent` (the items in most of their baskets, the latest first on ties),
`most_recent` (the latest bought, the most frequent first on ties), and `cuecard` (`score_pairs`:
how often they buy it, recent baskets counting more, × how close it is to being due at the
held-out basket's time).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from recsys.replenish import Replenishment, Timeline

METHODS = ("most_frequent", "most_recent", "cuecard")


# Chosen on folds 5–8 of the Instacart dev shoppers (decay 0.7/0.8/0.9 × base 0.5/2/100) and reported
# on folds 1–4 as well as pooled; the same shoppers, so every figure is a dev figure.
DECAY = 0.8  # a basket k baskets ago counts DECAY**k in the shopper's frequency
TIMING_BASE = 2.0  # frequency × (TIMING_BASE + timing): timing moves the order among similar frequencies


def score_pairs(rep: Replenishment, train: pd.DataFrame, t_now: pd.Series, decay: float = DECAY,
                base: float = TIMING_BASE) -> pd.DataFrame:
    """Every (user, item) of `train` with the three methods' scores at each user's `t_now`."""
    n_b = train.groupby("user", sort=False)["b"].max() + 1
    age = train["user"].map(n_b) - 1 - train["b"]
    train = train.assign(w=np.power(decay, age.to_numpy(float)))
    pairs = train.groupby(["user", "item"], sort=False).agg(count=("t", "size"), last=("t", "max"),
                                                            weight=("w", "sum")).reset_index()
    pairs = pairs.merge(rep.table[["user", "item", "interval"]], on=["user", "item"], how="left")
    now = pairs["user"].map(t_now).to_numpy(float)
    interval = pairs["interval"].to_numpy(float)
    known = np.isfinite(interval)
    elapsed = np.maximum(now - pairs["last"].to_numpy(float), 0.0)
    ratio = np.where(known, elapsed / np.maximum(np.nan_to_num(interval, nan=1.0), 1e-6), 0.0)
    # 1 when due now, falling as the basket comes early or late (log scale); 0 for non-consumables
    timing = np.where(known, np.exp(-0.5 * np.log(np.maximum(ratio, 1e-3)) ** 2), 0.0)
    b = pairs["user"].map(n_b).to_numpy(float)
    total = (1 - decay ** b) / (1 - decay) if decay < 1 else b
    pairs["cuecard"] = pairs["weight"].to_numpy(float) / total * (base + timing)
    # ties broken by the other signal, then by item id, so every method is deterministic
    pairs["most_frequent"] = pairs["count"] + pairs["last"].rank(pct=True) * 1e-3
    pairs["most_recent"] = pairs["last"] + pairs["count"].rank(pct=True) * 1e-3
    return pairs


def _top(pairs: pd.DataFrame, method: str, k: int) -> pd.DataFrame:
    ordered = pairs.sort_values(["user", method, "item"], ascending=[True, False, True], kind="stable")
    return ordered.groupby("user", sort=False).head(k)[["user", "item"]]


def evaluate_fold(timeline: Timeline, fold: int = 1, k: int = 5, **fit: Any) -> dict[str, dict[str, float]] | None:
    """Precision@k and Recall@k of each method holding out each shopper's `fold`-th last basket (None: nobody left)."""
    lines = timeline.lines
    n_b = lines.groupby("user", sort=False)["b"].max() + 1
    held_b = (n_b - fold).rename("held_b")
    held_b = held_b[held_b >= 1]
    if held_b.empty:
        return None
    lines = lines[lines["user"].isin(held_b.index)]
    hb = lines["user"].map(held_b)
    train, held = lines[lines["b"] < hb], lines[lines["b"] == hb]
    t_now = held.groupby("user", sort=False)["t"].min()
    rep = Replenishment(**fit).fit(Timeline(train, timeline.unit, t_now))
    pairs = score_pairs(rep, train, t_now)
    relevant = held[["user", "item"]].merge(pairs[["user", "item"]], on=["user", "item"])
    n_rel = relevant.groupby("user", sort=False).size()
    users = n_rel.index
    out: dict[str, dict[str, float]] = {}
    rel_keys = set(zip(relevant["user"], relevant["item"], strict=True))
    for method in METHODS:
        top = _top(pairs[pairs["user"].isin(users)], method, k)
        hit = pd.Series([(u, i) in rel_keys for u, i in zip(top["user"], top["item"], strict=True)], index=top.index)
        hits = hit.groupby(top["user"].to_numpy()).sum().reindex(users, fill_value=0).to_numpy(float)
        out[method] = {"precision": float(np.mean(hits / k)), "recall": float(np.mean(hits / n_rel.to_numpy(float))),
                       "users": int(len(users))}
    return out


def evaluate(timeline: Timeline, folds: int = 1, k: int = 5, **fit: Any) -> list[dict[str, dict[str, float]]]:
    """`evaluate_fold` for folds 1..`folds` (stops when no shopper has baskets left)."""
    runs = []
    for fold in range(1, folds + 1):
        r = evaluate_fold(timeline, fold, k, **fit)
        if r is None:
            break
        runs.append(r)
    return runs


def pooled(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Precision and recall over every evaluated shopper of every fold (folds weighted by their shoppers)."""
    out: dict[str, dict[str, float]] = {}
    for method in METHODS:
        users = sum(r[method]["users"] for r in runs)
        out[method] = {m: sum(r[method][m] * r[method]["users"] for r in runs) / max(users, 1)
                       for m in ("precision", "recall")}
        out[method]["users"] = users
    return out


def lift(result: dict[str, dict[str, float]]) -> float | None:
    """cuecard precision ÷ the better baseline's (None when both are 0)."""
    best = max(result["most_frequent"]["precision"], result["most_recent"]["precision"])
    return None if best <= 0 else result["cuecard"]["precision"] / best
