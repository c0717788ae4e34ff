"""Cross-sell alternatives side by side on validation folds: does anything beat the shipped blend?

`cuecard recsys eval` scores one held-out basket per user. Here each user's 2nd … N-th last basket
is a fold of its own (fold f trains on every basket before it, exactly as `eval --folds` does; fold
1, the official held-out basket, is never looked at), and every candidate ranks the items each user
has never bought. Printed: HR@K per fold and pooled, each as a ratio to popularity on the same users
in the same run, plus wins/losses against the shipped blend (users one hits and the other misses).

Candidates (the shipped parts, refitted per fold, combined differently):
- popularity (the baseline the target compares with) and trial popularity;
- the shipped blend (`BlendParams()` defaults: EASE λ 150 + 0.2 ALS + 0.2 bought-together);
- EASE alone at λ 50 / 150 / 300; the blend with ALS averaged over 5 seeds;
- popularity mixed in: added (0.3) or multiplied (^0.15);
- TIFU-kNN (user-kNN over time-decayed basket vectors), alone and added to EASE;
- with the Instacart catalogue beside the data (`--catalog`, read only here, not by `recsys eval`):
  the blend nudged towards the aisles the shopper buys from, added or multiplied.

Besides each ratio it prints `P(≥1.2)`: how often a judgement on a single held-out basket of a
fold's size (about 230 shoppers) would show the candidate at ≥ 1.2 × popularity, from 4,000
bootstrap draws of that many users out of the pooled user-baskets.

Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/recs_crosssell.py [--folds 8] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from tqdm import tqdm  # noqa: E402

from recsys.als import ALSRecommender  # noqa: E402
from recsys.blend import BlendParams, BlendRecommender, scaled  # noqa: E402
from recsys.data import Columns, Interactions, read_purchases  # noqa: E402
from recsys.ease import EASERecommender  # noqa: E402
from recsys.popularity import trial_counts  # noqa: E402

DATA = Path(os.environ.get("CUECARD_SHARED_DATA", ROOT.parent / "shared" / "data"))
Scorer = Callable[[int, list[np.ndarray]], np.ndarray]


def tifu_vectors(train: Interactions, decay: float = 0.9) -> np.ndarray:
    """Each user's items weighted by how recently they were bought (decay per basket), L2-normalised."""
    v = np.zeros((train.n_users, train.n_items), np.float32)
    for u in range(train.n_users):
        baskets = train.baskets(u)
        for age, basket in enumerate(reversed(baskets)):
            v[u, basket] += decay ** age
    return v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-9)


def candidates(train: Interactions, aisles: np.ndarray | None) -> dict[str, Scorer]:
    """Every candidate's scorer, fitted on one fold's training part (`aisles`: aisle per item, if known)."""
    blend = BlendRecommender(BlendParams()).fit_parts(train)
    p = blend.params
    # the blend's own EASE (λ 150) and ALS (seed 42) are reused, not fitted again
    eases = {reg: EASERecommender(reg, p.ease_max_items, p.ease_neighbours).fit(train) for reg in (50.0, 300.0)}
    eases[p.ease_regularization] = blend.ease
    alss = [blend.als] + [ALSRecommender(p.als_factors, p.als_regularization, p.als_alpha, p.als_iterations,
                                         p.als_weighting, random_state=blend.als.random_state + s).fit(train)
                          for s in range(1, 5)]
    pop = blend.popularity.counts.astype(np.float64)
    trial = trial_counts(train).astype(np.float64) + 1e-6 * pop
    tifu = tifu_vectors(train)

    def blend_scores(u: int, h: list[np.ndarray]) -> np.ndarray:
        return blend.scores(u, h)

    def explore(u: int, h: list[np.ndarray]) -> np.ndarray:
        """The blend's explore part alone (all that ranks never-bought items), scaled to [0, 1]."""
        parts = blend.parts(u, h)
        return scaled(blend.combine(parts) - parts["repeat"])

    def als5(u: int, h: list[np.ndarray]) -> np.ndarray:
        parts = blend.parts(u, h)
        parts["als"] = np.mean([scaled(m.scores(u, h)) for m in alss], axis=0)
        return blend.combine(parts)

    def user_knn(u: int, h: list[np.ndarray], neighbours: int = 50) -> np.ndarray:
        sim = tifu @ tifu[u]
        sim[u] = -1.0
        top = np.argpartition(-sim, neighbours)[:neighbours]
        return np.maximum(sim[top], 0.0) @ tifu[top]

    def aisle_share(h: list[np.ndarray]) -> np.ndarray:
        """Per item, the share of the shopper's purchase lines in that item's aisle."""
        assert aisles is not None
        counts = np.bincount(aisles[np.concatenate(h)], minlength=int(aisles.max()) + 1)
        return (counts / counts.sum())[aisles]

    found = {
        "popularity": lambda u, h: pop,
        "trial popularity": lambda u, h: trial,
        "shipped blend": blend_scores,
        "EASE λ 50": lambda u, h: eases[50.0].scores(u, h),
        "EASE λ 150": lambda u, h: eases[150.0].scores(u, h),
        "EASE λ 300": lambda u, h: eases[300.0].scores(u, h),
        "blend, ALS × 5 seeds": als5,
        "blend + 0.3 popularity": lambda u, h: explore(u, h) + 0.3 * scaled(pop),
        "blend × popularity^0.15": lambda u, h: (explore(u, h) + 1e-3) * (pop + 1) ** 0.15,
        "TIFU-kNN": user_knn,
        "TIFU-kNN + EASE": lambda u, h: 0.5 * scaled(user_knn(u, h)) + scaled(eases[150.0].scores(u, h)),
    }
    if aisles is not None:
        for w in (0.1, 0.3):  # added to the explore part (scaled per user), as popularity is above
            found[f"blend's explore + {w} aisle share × log pop"] = (
                lambda u, h, w=w: explore(u, h) + w * scaled(aisle_share(h) * np.log1p(pop)))
        found["blend × (1 + 10 aisle share)^0.3"] = (
            lambda u, h: (explore(u, h) + 1e-4) * (1 + 10 * aisle_share(h)) ** 0.3)
    return found


def pass_chance(hit: np.ndarray, base: np.ndarray, users: int, draws: int = 4000, seed: int = 0) -> float:
    """Share of bootstrap draws of `users` user-baskets in which `hit`'s HR is ≥ 1.2 × `base`'s."""
    idx = np.random.default_rng(seed).integers(0, len(hit), (draws, users))
    return float((hit[idx].mean(axis=1) >= 1.2 * base[idx].mean(axis=1)).mean())


def catalogue_aisles(path: Path, item_ids: np.ndarray) -> np.ndarray:
    """Aisle index per item from an Instacart-style `product_id,…,aisle_id` file (items missing from it share one "unknown" aisle)."""
    frame = pd.read_csv(path, usecols=["product_id", "aisle_id"], dtype=str)
    aisle = frame.set_index("product_id")["aisle_id"].reindex(item_ids).fillna("unknown")
    return pd.factorize(aisle)[0]


def hits(train: Interactions, held: dict[int, np.ndarray], scorers: dict[str, Scorer], k: int) -> dict[str, np.ndarray]:
    """Per candidate, whether each user with a never-bought item in the held basket got one in the top k."""
    out: dict[str, list[bool]] = {name: [] for name in scorers}
    for u, basket in held.items():
        history = train.baskets(u)
        bought = np.unique(np.concatenate(history)) if history else np.empty(0, np.int64)
        new = np.setdiff1d(basket, bought)
        if not len(new):
            continue
        for name, scorer in scorers.items():
            s = scorer(u, history).astype(np.float64)  # a copy: safe to mask
            s[bought] = -np.inf
            top = np.argpartition(-s, k)[:k]
            out[name].append(bool(np.isin(top[np.isfinite(s[top])], new).any()))
    return {name: np.array(v) for name, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=Path, default=DATA / "purchases" / "instacart_orders_dev.csv")
    parser.add_argument("--user-col", default="user_id")
    parser.add_argument("--item-col", default="product_id")
    parser.add_argument("--basket-col", default="order_id")
    parser.add_argument("--order-col", default="order_number")
    parser.add_argument("--catalog", type=Path, default=DATA / "purchases" / "instacart_products.csv",
                        help="product_id → aisle_id file for the aisle candidates (skipped when absent)")
    parser.add_argument("--folds", type=int, default=8, help="validation folds 2..N (fold 1 is never used)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.purchases.is_file():
        sys.exit(f"no purchase file at {args.purchases}: pass --purchases or set CUECARD_SHARED_DATA")
    if args.folds < 2:
        sys.exit("--folds must be at least 2: fold 1, the official held-out basket, is never used here")
    frame, report = read_purchases(args.purchases, Columns(args.user_col, args.item_col, args.basket_col,
                                                          args.order_col, None, None))
    data = Interactions.from_frame(frame)
    aisles = catalogue_aisles(args.catalog, data.item_ids) if args.catalog.is_file() else None
    rest, _ = data.split_last()  # fold 1's basket, set aside unseen
    per_fold: list[dict[str, np.ndarray]] = []
    with threadpool_limits(1, "blas"):
        for _ in tqdm(range(2, args.folds + 1), desc="folds", unit="fold"):
            train, held = rest.split_last()
            per_fold.append(hits(train, held, candidates(train, aisles), args.k))
            rest = train
    names = list(per_fold[0])
    pooled = {n: np.concatenate([f[n] for f in per_fold]) for n in names}
    base, ref = pooled["popularity"].mean(), pooled["shipped blend"]
    fold_users = int(np.median([len(f["popularity"]) for f in per_fold]))
    result: dict[str, dict[str, Any]] = {n: {"hr": round(float(pooled[n].mean()), 4), "ratio": round(float(pooled[n].mean() / base), 3),
                  "pass_chance": round(pass_chance(pooled[n], pooled["popularity"], fold_users), 2),
                  "per_fold": [round(float(f[n].mean() / f["popularity"].mean()), 3) for f in per_fold],
                  "wins_vs_blend": int((pooled[n] & ~ref).sum()), "losses_vs_blend": int((ref & ~pooled[n]).sum())}
              for n in names}
    if args.json:
        print(json.dumps({"users": int(len(ref)), "fold_users": fold_users, "folds": list(range(2, args.folds + 1)), "candidates": result},
                         ensure_ascii=False))
        return
    print(f"{args.purchases.name}: {report.summary()}; folds 2–{args.folds}, {len(ref):,} user-baskets with a "
          f"never-bought item; HR@{args.k} ÷ popularity; P(≥1.2): chance of ≥ 1.2 × popularity on {fold_users} users")
    print(f"{'candidate':44s} {'HR':>7s} {'× pop':>6s} {'P(≥1.2)':>7s}  {'per fold':40s} {'vs blend +/-':>12s}")
    for n, r in result.items():
        folds = " ".join(f"{x:.2f}" for x in r["per_fold"])
        print(f"{n:44s} {r['hr']:7.4f} {r['ratio']:6.3f} {r['pass_chance']:7.2f}  {folds:40s} "
              f"{r['wins_vs_blend']:5d}/{r['losses_vs_blend']:<5d}")


if __name__ == "__main__":
    main()
