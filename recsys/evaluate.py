"""The offline protocol: hold out each user's last basket, train on the rest, score two tasks.

- `next_basket`: every item of the held-out basket is relevant (repeats included);
- `cross_sell`: only held-out items the user never bought before are relevant, users left with
  none are skipped, and recommendations leave out everything the user bought before.

Metrics at K: HR (at least one hit), NDCG (binary gain, ideal = min(|relevant|, K) hits on top),
Recall (hits ÷ |relevant|), and catalogue coverage (distinct items recommended ÷ items in training).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from recsys.base import Recommender
from recsys.data import Interactions, shopper_half
from recsys.metrics import batch_metrics, batch_top, ranking_metrics

__all__ = ["ranking_metrics"]  # re-exported: it lived here before `recsys.metrics`

TASKS = ("next_basket", "cross_sell")
METHODS = ("popularity", "repeat", "als", "item_knn", "cuecard")
# what each task's target compares: (metric, the baselines whose best CueCard is set against)
TARGETS = {"next_basket": ("ndcg", ("popularity", "repeat", "als", "item_knn")),
           "cross_sell": ("hr", ("popularity", "als", "item_knn"))}
POOLED = ("hr", "ndcg", "recall")


BATCH = 256  # users scored at a time: a (BATCH × items) float32 block, 22 MB on a 21,000-item shop


def evaluate_model(model: Recommender, train: Interactions, held: dict[int, np.ndarray], k: int = 10,
                   users: Iterable[int] | None = None, progress: bool = False,
                   desc: str = "") -> dict[str, dict[str, Any]]:
    """Both tasks for one fitted model (see `evaluate_task`): each user scored once, ranked and
    measured a batch of users at a time."""
    n = train.n_items
    trained_items = int((np.diff(train.user_items.tocsc().indptr) > 0).sum())
    users = list(held) if users is None else list(users)
    rows: dict[str, list[np.ndarray]] = {t: [] for t in TASKS}
    ids: dict[str, list[np.ndarray]] = {t: [] for t in TASKS}
    shown = {t: np.zeros(n, bool) for t in TASKS}
    for start in tqdm(range(0, len(users), BATCH), desc=desc or "evaluate", disable=not progress, leave=False,
                      unit="batch"):
        batch = np.asarray(users[start:start + BATCH], np.int64)
        histories = [train.baskets(int(u)) for u in batch]
        scores = np.stack([model.scores(int(u), h) for u, h in zip(batch, histories, strict=True)])
        bought = train.user_items[batch].toarray() > 0
        relevant = np.zeros((len(batch), n), bool)
        for i, u in enumerate(batch):
            items = held[int(u)]
            relevant[i, items[items < n]] = True
        new = relevant & ~bought
        for task in TASKS:
            if task == "cross_sell":
                keep = new.any(axis=1)
                scores, relevant, batch = np.where(bought, -np.inf, scores)[keep], new[keep], batch[keep]
            recs = batch_top(scores, k)
            rows[task].append(batch_metrics(recs, relevant, k).astype(np.float32))
            ids[task].append(batch)
            shown[task][recs[recs >= 0]] = True
    out = {}
    for task in TASKS:
        per_user = np.concatenate(rows[task]) if rows[task] else np.zeros((0, 3), np.float32)
        m = len(per_user)
        hr, ndcg, recall = (per_user.astype(np.float64).sum(axis=0) / m).tolist() if m else (0.0, 0.0, 0.0)
        # each user's HR/NDCG/Recall (float32, m × 3) and id, in the order of `users`, for `lift_interval`
        out[task] = {"hr": hr, "ndcg": ndcg, "recall": recall, "coverage": int(shown[task].sum()) / max(trained_items, 1),
                     "users": m, "per_user": per_user,
                     "user_ids": np.concatenate(ids[task]) if ids[task] else np.zeros(0, np.int64)}
    return out


def evaluate_task(model: Recommender, train: Interactions, held: dict[int, np.ndarray], task: str,
                  k: int = 10, users: Iterable[int] | None = None, progress: bool = False,
                  desc: str = "") -> dict[str, Any]:
    """Mean HR/NDCG/Recall at `k` and coverage of `model` on one task, and each user's HR/NDCG/Recall.

    `next_basket`: every held-out item counts; `cross_sell`: only items the user never bought, the
    list leaves their purchases out, and users with no new item are skipped.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    return evaluate_model(model, train, held, k, users, progress, desc or task)[task]


def evaluate(data: Interactions, factories: dict[str, Callable[[], Recommender]], k: int = 10,
             progress: bool = False, on_fit: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
    """Split off each user's last basket, fit every method on the rest, and score both tasks."""
    return evaluate_split(*data.split_last(), factories, k, progress, on_fit)


def evaluate_split(train: Interactions, held: dict[int, np.ndarray], factories: dict[str, Callable[[], Recommender]],
                   k: int = 10, progress: bool = False,
                   on_fit: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
    """Fit every method on `train` and score both tasks on the `held` baskets."""
    out: dict[str, dict[str, Any]] = {task: {} for task in TASKS}
    for name, factory in factories.items():
        if on_fit:
            on_fit(name)
        model = factory().fit(train)
        for task, scored in evaluate_model(model, train, held, k, progress=progress, desc=f"score {name}").items():
            out[task][name] = scored
    return out


def default_methods(progress: bool = False, tune: bool = True, blend_params: Any = None,
                    tune_half: int | None = None,
                    tuning_log: list[dict[str, Any]] | None = None,
                    signals_off: bool = False) -> dict[str, Callable[[], Recommender]]:
    """The methods compared side by side: four baselines and CueCard's blend.

    With `tune`, the blend picks its weights on validation shoppers of each fold's training data,
    of `shopper_half` `tune_half` only when given (so the other half is a held-out estimate); each
    fit's tuning report is appended to `tuning_log`. `signals_off` adds the blend without the
    history's categories ("cuecard_no_category"), to measure the signal on and off in one run.
    """
    from recsys.als import ALSRecommender
    from recsys.blend import BlendRecommender
    from recsys.item_knn import ItemKNNRecommender
    from recsys.popularity import PopularityRecommender
    from recsys.repeat import RepeatRecommender
    from recsys.tuning import tune_blend

    def tuner(data: Interactions, params: Any) -> tuple[Any, dict[str, Any]]:
        tuned, report = tune_blend(data, params, half=tune_half, progress=progress)
        if tuning_log is not None:
            tuning_log.append(report)
        return tuned, report

    methods: dict[str, Callable[[], Recommender]] = {
        "popularity": PopularityRecommender,
        "repeat": RepeatRecommender,  # the user's own most bought, popularity filling short lists
        # implicit's own defaults (factors 100, regularization 0.01, alpha 1, 15 iterations) on raw counts
        "als": lambda: ALSRecommender(factors=100, regularization=0.01, alpha=1.0, iterations=15,
                                      weighting="none"),
        "item_knn": ItemKNNRecommender,
        "cuecard": lambda: BlendRecommender(blend_params, tuner=tuner if tune else None, progress=progress),
    }
    if signals_off:
        methods["cuecard_no_category"] = lambda: BlendRecommender(
            blend_params, tuner=tuner if tune else None, progress=progress, use_category=False)
    return methods


def lift(results: dict[str, dict[str, Any]], task: str, method: str = "cuecard") -> float | None:
    """`method`'s target metric ÷ the best baseline's on `task` (None when that best is 0 or absent)."""
    metric, baselines = TARGETS[task]
    scores = [results[task][b][metric] for b in baselines if b in results[task]]
    best = max(scores, default=0.0)
    if method not in results[task] or best <= 0:
        return None
    return float(results[task][method][metric] / best)


def by_half(results: dict[str, dict[str, Any]], user_ids: np.ndarray, half: int) -> dict[str, dict[str, Any]]:
    """The results restricted to the users of one `shopper_half` (means recomputed from per-user rows)."""
    halves = shopper_half(user_ids)
    out: dict[str, dict[str, Any]] = {}
    for task, methods in results.items():
        out[task] = {}
        for name, r in methods.items():
            keep = halves[np.asarray(r["user_ids"], np.int64)] == half
            rows = np.asarray(r["per_user"]).reshape(-1, 3)[keep]
            means = rows.astype(np.float64).mean(axis=0) if len(rows) else np.zeros(3)
            out[task][name] = {**dict(zip(POOLED, means.tolist(), strict=True)), "users": int(keep.sum()),
                               "per_user": rows, "user_ids": np.asarray(r["user_ids"])[keep]}
    return out


def lift_interval(results: dict[str, dict[str, Any]], task: str, method: str = "cuecard", level: float = 0.95,
                  draws: int = 1000, seed: int = 0) -> tuple[float, float] | None:
    """A bootstrap interval for `lift`: the evaluated shoppers resampled with replacement, every method
    scored on the same draw. It shows how far the ratio could move on another sample of shoppers of
    this size. A shopper with several rows (pooled folds) is drawn with all of them, so their
    baskets are not counted as independent. A draw in which no baseline scores is an infinite ratio
    (the upper bound may be `inf`); one in which nothing scores is left out. None when `lift` is None,
    the per-user scores are absent, or the methods were not scored on the same users."""
    metric, baselines = TARGETS[task]
    names = [b for b in baselines if b in results[task]]
    rows = [results[task][m] for m in [method, *names]] if method in results[task] else []
    if not names or not rows or any("per_user" not in r or "user_ids" not in r for r in rows):
        return None
    ids = np.asarray(rows[0]["user_ids"])
    if any(not np.array_equal(np.asarray(r["user_ids"]), ids) for r in rows[1:]):
        return None  # per-user rows pair up only when every method scored the same users in the same order
    col = POOLED.index(metric)
    scores = np.stack([np.asarray(r["per_user"], np.float64).reshape(-1, 3)[:, col] for r in rows])
    if scores.shape[1] == 0 or scores[1:].mean(axis=1).max() <= 0:
        return None
    _, shopper = np.unique(ids, return_inverse=True)
    n = int(shopper.max()) + 1
    sums = np.stack([np.bincount(shopper, weights=row, minlength=n) for row in scores])  # (methods, shoppers)
    counts = np.bincount(shopper, minlength=n).astype(np.float64)
    rng = np.random.default_rng(seed)
    batch = max(1, 2_000_000 // n)  # draws at a time, bounding memory on large evaluations
    ratios = []
    for start in range(0, draws, batch):
        drawn = rng.integers(0, n, (min(batch, draws - start), n))
        means = sums[:, drawn].sum(axis=2) / counts[drawn].sum(axis=1)
        ours, best = means[0], means[1:].max(axis=0)
        with np.errstate(divide="ignore"):
            ratios.append((ours / best)[(best > 0) | (ours > 0)])
    ratio = np.sort(np.concatenate(ratios))
    return _quantile(ratio, (1 - level) / 2), _quantile(ratio, (1 + level) / 2)


def _quantile(ordered: np.ndarray, q: float) -> float:
    """numpy's default (linear) quantile of sorted values, `inf` where it would interpolate to one."""
    h = q * (len(ordered) - 1)
    below, above = ordered[int(np.floor(h))], ordered[int(np.ceil(h))]
    return float("inf") if not np.isfinite(above) else float(below + (above - below) * (h - np.floor(h)))


def backtest(data: Interactions, factories: dict[str, Callable[[], Recommender]], folds: int, k: int = 10,
             progress: bool = False, on_fit: Callable[[str], None] | None = None) -> list[dict[str, dict[str, Any]]]:
    """The protocol repeated on earlier baskets: fold 1 is `evaluate(data)`, fold f first drops each
    user's last f − 1 baskets and then holds out the one before them.

    One held-out basket of a few hundred users moves a ratio by tenths; the spread over folds shows
    how far a single split can be trusted. Stops early when no user has two baskets left.
    """
    if folds < 1:
        raise ValueError(f"folds must be at least 1, got {folds}")
    out: list[dict[str, dict[str, Any]]] = []
    rest = data
    for fold in range(folds):
        train, held = rest.split_last()
        if not held:  # nobody has two baskets left
            break
        label = _fold_label(on_fit, fold + 1) if on_fit is not None and folds > 1 else on_fit
        out.append(evaluate_split(train, held, factories, k, progress, label))
        rest = train
    return out


def _fold_label(on_fit: Callable[[str], None], fold: int) -> Callable[[str], None]:
    return lambda name: on_fit(f"fold {fold}: {name}")


def pooled(folds: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """HR/NDCG/Recall averaged over every evaluated user of every fold (each fold weighted by its users)."""
    out: dict[str, dict[str, Any]] = {}
    for task in TASKS:
        out[task] = {}
        for method in folds[0][task] if folds else []:
            rows = [f[task][method] for f in folds]
            users = sum(r["users"] for r in rows)
            out[task][method] = {m: sum(r[m] * r["users"] for r in rows) / max(users, 1) for m in POOLED}
            out[task][method]["users"] = users
            if all("per_user" in r and "user_ids" in r for r in rows):
                out[task][method]["per_user"] = np.concatenate([np.asarray(r["per_user"]).reshape(-1, 3) for r in rows])
                out[task][method]["user_ids"] = np.concatenate([np.asarray(r["user_ids"]) for r in rows])
    return out
