"""Spark MLlib ALS next to implicit's ALS on one synthetic shop history: fit time and quality.

Same data, same weighting and parameters; each user's last basket is held out and both models
rank items for a sample of those users (recall@10 and NDCG-style hit rate: share of users with a
held-out item in the top 10). Spark runs in local mode on `--cores` cores.

    .venv/bin/python bench/recs_spark.py [--users 100000 --items 10000 --lines 2000000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from recsys.als import ALSRecommender  # noqa: E402
from recsys.spark_als import SparkALSRecommender  # noqa: E402
from recsys.synthetic import shop_history  # noqa: E402


def quality(model: ALSRecommender, train: object, held: dict[int, np.ndarray], users: np.ndarray) -> dict[str, float]:
    """Recall@10 and hit rate@10 over the sampled users' held-out baskets (bought items excluded)."""
    recall, hits = [], 0
    for u in users:
        history = train.baskets(int(u))  # type: ignore[attr-defined]
        bought = np.unique(np.concatenate(history)) if history else np.empty(0, np.int64)
        items, _ = model.recommend(int(u), history, 10, exclude=bought)
        want = np.setdiff1d(held[int(u)], bought)
        if len(want) == 0:
            continue
        got = len(np.intersect1d(items, want))
        recall.append(got / min(len(want), 10))
        hits += got > 0
    n = max(len(recall), 1)
    return {"recall@10": round(float(np.mean(recall)) if recall else 0.0, 4), "hit@10": round(hits / n, 4),
            "users": len(recall)}


def main() -> None:
    """Fit both, print the table and one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=15)
    ap.add_argument("--sample", type=int, default=5000, help="users scored")
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    data = shop_history(args.users, args.items, args.lines)
    train, held = data.split_last()
    rng = np.random.default_rng(0)
    users = rng.choice(np.fromiter(held, np.int64), size=min(args.sample, len(held)), replace=False)
    params = {"factors": args.factors, "regularization": 0.01, "alpha": 1.0, "iterations": args.iterations,
              "weighting": "bm25"}
    out = {"users": data.n_users, "items": data.n_items, "lines": data.n_lines}
    for name, model in (("implicit", ALSRecommender(**params, num_threads=args.cores)),
                        ("spark", SparkALSRecommender(**params, master=f"local[{args.cores}]"))):
        t0 = time.perf_counter()
        model.fit(train)
        fit_s = time.perf_counter() - t0
        out[name] = {"fit_s": round(fit_s, 1), **quality(model, train, held, users)}
        print(name, out[name], flush=True)
    print("\n| | implicit | spark |\n|---|---:|---:|")
    for key in ("fit_s", "recall@10", "hit@10"):
        print(f"| {key} | {out['implicit'][key]} | {out['spark'][key]} |")  # type: ignore[index]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
