"""`cuecard recsys`: train the recommender, evaluate it against baselines, ask it for a user's list."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from api.commands.replenish import GapCol, due, links, replenishment_report, replenishment_table, segments
from knowledge.errors import InvalidInputError
from recsys.data import Columns, Interactions, LoadReport, read_purchases

app = typer.Typer(help="Train and evaluate the recommender.", no_args_is_help=True)
err = Console(stderr=True)

PurchasesOpt = Annotated[Path | None, typer.Option("--purchases", help="CSV or Parquet file of purchase lines.")]
UserCol = Annotated[str, typer.Option("--user-col", help="Column holding the user id.")]
ItemCol = Annotated[str, typer.Option("--item-col", help="Column holding the item (product) id.")]
BasketCol = Annotated[str | None, typer.Option("--basket-col", help="Column holding the basket / order id.")]
OrderCol = Annotated[str | None, typer.Option("--order-col", help="Column ordering a user's baskets (order number).")]
TimeCol = Annotated[str | None, typer.Option("--time-col", help="Column with the purchase time (used without --order-col).")]
QtyCol = Annotated[str | None, typer.Option("--quantity-col", help="Column with the quantity (default 1 per line).")]
CategoryCol = Annotated[str | None, typer.Option(
    "--category-col", help="Column with the product category (per-category popularity in the blend; lines "
                           "without one keep their item, an item takes its most frequent category).")]
TUNE_HALF = 0  # `recsys.data.shopper_half` the blend tunes on in `eval`; the other half is reported as held out
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (default CUECARD_DATA_DIR).")]


def _load(purchases: Path, columns: Columns) -> tuple[Interactions, LoadReport]:
    frame, report = read_purchases(purchases, columns)
    err.print(f"[dim]{purchases.name}: {report.summary()}[/]")
    return Interactions.from_frame(frame), report


@app.command()
def train(
    purchases: PurchasesOpt = None, user_col: UserCol = "user_id", item_col: ItemCol = "item_id",
    basket_col: BasketCol = None, order_col: OrderCol = None, time_col: TimeCol = None,
    quantity_col: QtyCol = None, data_dir: DataDir = None, category_col: CategoryCol = None,
    tune: Annotated[bool | None, typer.Option(help="Tune the blend's weights on validation shoppers first "
                                            "(--no-tune: keep the configured weights; default "
                                            "CUECARD_RECSYS_TUNE).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    engine: Annotated[str, typer.Option("--engine", help="ALS trainer: 'implicit' (in process) or 'spark' "
                                                         "(Spark MLlib, local mode; needs pyspark and Java 17).")]
    = "implicit",
) -> None:
    """Train on a purchase file (or the store's purchases), save it, and make it the active model.

    A running server picks it up with `POST /recommendations/model/reload` (admin key).
    """
    from api.cli import load_settings
    from api.services import build_store
    from recsys.service import RecommendationService, blend_params

    settings = load_settings(data_dir=data_dir)
    store = build_store(settings)
    try:
        service = RecommendationService(store, models_dir=settings.models_dir, params=blend_params(settings),
                                        event_weights=settings.event_weights)
        data = None
        load_started = time.perf_counter()
        if purchases is not None:
            data, _ = _load(purchases, Columns(user_col, item_col, basket_col, order_col, time_col, quantity_col,
                                               category_col))
        elif store.count_purchases() == 0:
            raise InvalidInputError("the store holds no purchases: pass --purchases FILE (or POST /purchases)")
        started = time.perf_counter()
        load_seconds = started - load_started
        version = service.train(data, tune=settings.recsys_tune if tune is None else tune, progress=not as_json,
                                engine=engine)
        seconds = time.perf_counter() - started
        model = service.model
        assert model is not None and model.data is not None
        result = {"version": version, "path": str(settings.models_dir / "recommender" / version),
                  "users": model.data.n_users, "items": model.data.n_items, "lines": model.data.n_lines,
                  "train_seconds": round(seconds, 2), "params": model.params.__dict__,
                  "tuning": model.tuning_report, "stage_seconds": {"load": round(load_seconds, 2), **model.timings}}
        if as_json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            err.print(f"[green]trained[/] {version} on {result['users']:,} users × {result['items']:,} items "
                      f"({result['lines']:,} lines) in {seconds:.1f} s → {result['path']}")
    finally:
        store.close()


@app.command("eval")
def evaluate_cmd(
    purchases: Annotated[Path, typer.Option("--purchases", help="CSV or Parquet file of purchase lines.")],
    user_col: UserCol = "user_id", item_col: ItemCol = "item_id", basket_col: BasketCol = None,
    order_col: OrderCol = None, time_col: TimeCol = None, quantity_col: QtyCol = None,
    category_col: CategoryCol = None,
    signals_off: Annotated[bool, typer.Option(
        "--signals-off", help="Also score the blend without the --category-col signal, in the same run.")] = False,
    k: Annotated[int, typer.Option("--k", help="Cut-off of the metrics.", min=1, max=1000)] = 10,
    folds: Annotated[int, typer.Option(
        "--folds", min=1, max=50,
        help="Repeat the protocol on the N last baskets (fold 1 = the last) and show how much the "
             "ratios to the best baseline move between them.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object {task: {method: metrics}}.")] = False,
    tune: Annotated[bool, typer.Option(help="Tune the blend on validation shoppers of one half (else fixed weights).")] = True,
    gap_col: GapCol = None,
    task: Annotated[str, typer.Option("--task", help="'all', or 'replenishment' alone (no recommender fits).")] = "all",
    engine: Annotated[str, typer.Option("--engine", help="'spark': also score ALS fitted by Spark MLlib "
                                                         "('als_spark', same parameters as 'als').")] = "implicit",
) -> None:
    """Hold out each user's last basket, train every method on the rest, print HR/NDCG/Recall@K and coverage."""
    from recsys.evaluate import backtest, by_half, default_methods, lift, lift_interval, pooled

    replenishment = _replenishment(purchases, Columns(user_col, item_col, basket_col, order_col, time_col),
                                   gap_col, folds, task, as_json)
    if task == "replenishment":
        return

    data, _ = _load(purchases, Columns(user_col, item_col, basket_col, order_col, time_col, quantity_col,
                                       category_col))
    started = time.perf_counter()
    tuning: list[dict[str, Any]] = []
    # the blend tunes on shoppers of half 0 only: half 1 is never looked at by tuning (a held-out estimate)
    factories = default_methods(progress=not as_json, tune=tune, tune_half=TUNE_HALF if tune else None,
                              tuning_log=tuning, signals_off=signals_off)
    if engine == "spark":  # one extra row next to implicit's ALS, with the same parameters
        from recsys.spark_als import SparkALSRecommender

        factories["als_spark"] = lambda: SparkALSRecommender(factors=100, regularization=0.01, alpha=1.0,
                                                             iterations=15, weighting="none")
    elif engine != "implicit":
        raise InvalidInputError(f"unknown engine {engine!r}: use 'implicit' or 'spark'")
    runs = backtest(data, factories, folds, k=k, progress=not as_json,
                    on_fit=None if as_json else (lambda name: err.print(f"[dim]fitting {name}…[/]")))
    if not runs:
        raise InvalidInputError("no user has two baskets: nothing to hold out (check --basket-col / --order-col)")
    results = runs[0]
    total = pooled(runs) if folds > 1 else results
    halves = {name: by_half(total, data.user_ids, h) for name, h in (("tuned", TUNE_HALF), ("held_out", 1 - TUNE_HALF))}
    if as_json:
        out: dict[str, Any] = _rounded(results)
        out["tuning"] = tuning
        out["halves"] = {name: {"lift": {task: _round(lift(r, task)) for task in results},
                                "lift_interval": {task: _interval(lift_interval(r, task)) for task in results},
                                "users": {task: r[task]["cuecard"]["users"] for task in results}}
                         for name, r in halves.items()}
        if folds > 1:  # only when asked: the plain object stays {task: {method: metrics}}
            out["folds"] = [_rounded(r) for r in runs]
            out["pooled"] = _rounded(total, users=True)
            out["lift"] = {task: [_round(lift(r, task)) for r in runs] for task in results}
            out["lift_interval"] = {task: [_interval(lift_interval(r, task)) for r in runs] for task in results}
            out["lift_pooled"] = {task: _round(lift(total, task)) for task in results}
            out["lift_interval_pooled"] = {task: _interval(lift_interval(total, task)) for task in results}
        if replenishment is not None:
            out["replenishment"] = replenishment
        print(json.dumps(out))
        return
    for task, methods in results.items():
        users = next(iter(methods.values()))["users"]
        table = Table(title=f"{task} @ {k}  ({users} users)")
        for col in ("method", "HR", "NDCG", "Recall", "coverage"):
            table.add_column(col, justify="right" if col != "method" else "left")
        for name, m in methods.items():
            table.add_row(name, f"{m['hr']:.4f}", f"{m['ndcg']:.4f}", f"{m['recall']:.4f}", f"{m['coverage']:.4f}")
        Console().print(table)
    Console().print(_lift_table(runs, total if folds > 1 else None, k))
    Console().print(_halves_table(halves, k))
    if replenishment is not None and "error" not in replenishment:
        Console().print(replenishment_table(replenishment))
    for i, report in enumerate(tuning, 1):
        err.print(f"[dim]fold {i} tuning ({report.get('validation_users', 0)} validation shoppers of half "
                  f"{report.get('half')}): {report.get('chosen') or report.get('skipped')}[/]")
    if len(runs) < folds:
        err.print(f"[yellow]only {len(runs)} folds: no user has more baskets to hold out[/]")
    err.print(f"[dim]{time.perf_counter() - started:.1f} s[/]")


def _halves_table(halves: dict[str, dict[str, dict[str, Any]]], k: int) -> Table:
    """The lifts on the shoppers tuning could draw from (dev) and on the other half (held out)."""
    from recsys.evaluate import TARGETS, lift, lift_interval

    table = Table(title=f"cuecard ÷ best baseline by shopper half (@{k}): tuned half = dev, other = held out")
    table.add_column("half", justify="left")
    for task, (metric, _) in TARGETS.items():
        table.add_column(f"{task} {metric.upper()}", justify="right")
        table.add_column("users", justify="right")
    for name, r in halves.items():
        row = [name]
        for task in TARGETS:
            ratio, bounds = lift(r, task), lift_interval(r, task)
            cell = "–" if ratio is None else f"{ratio:.3f}×"
            if bounds is not None:
                cell += f" [{bounds[0]:.2f}–{bounds[1]:.2f}]".replace("inf", "∞")
            row += [cell, str(r[task]["cuecard"]["users"])]
        table.add_row(*row)
    return table


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def _interval(bounds: tuple[float, float] | None) -> list[float | None] | None:
    """[low, high] to 4 places; an unbounded high (no baseline hit in some draws) is null."""
    return None if bounds is None else [_round(b) if np.isfinite(b) else None for b in bounds]


def _rounded(results: dict[str, dict[str, Any]], users: bool = False) -> dict[str, Any]:
    """Metrics to 4 places; the users evaluated only with `users` (the plain object has none)."""
    return {task: {m: {key: v if key == "users" else round(v, 4) for key, v in met.items()
                       if (users or key != "users") and key not in ("per_user", "user_ids")} for m, met in methods.items()}
            for task, methods in results.items()}


def _lift_table(runs: list[dict[str, dict[str, Any]]], total: dict[str, dict[str, Any]] | None, k: int) -> Table:
    """cuecard ÷ the best baseline as the targets compare them, with a 95% bootstrap interval over
    the users: per fold, and over all folds pooled when there are several."""
    from recsys.evaluate import TARGETS, lift, lift_interval

    title = "cuecard ÷ best baseline" + (", fold by fold" if total is not None else "")
    table = Table(title=f"{title} (@{k}) [95% interval, the users resampled]")
    table.add_column("fold", justify="left")
    for task, (metric, _) in TARGETS.items():
        table.add_column(f"{task} {metric.upper()}", justify="right")
        table.add_column("users", justify="right")

    def cells(results: dict[str, dict[str, Any]]) -> list[str]:
        row = []
        for task in TARGETS:
            ratio, bounds = lift(results, task), lift_interval(results, task)
            cell = "–" if ratio is None else f"{ratio:.3f}×"
            if bounds is not None:
                cell += f" [{bounds[0]:.2f}–{bounds[1]:.2f}]".replace("inf", "∞")
            row += [cell, str(results[task]["cuecard"]["users"])]
        return row

    for i, r in enumerate(runs, 1):
        table.add_row(f"{i}" + (" (last)" if i == 1 else ""), *cells(r))
    if total is not None:
        table.add_row("pooled", *cells(total))
    return table


@app.command()
def recommend(
    user_id: Annotated[str, typer.Argument(help="The user to recommend for.")],
    k: Annotated[int, typer.Option("--k", help="How many items.")] = 10,
    room: Annotated[str | None, typer.Option("--room", help="Re-rank for this room.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Print a user's recommendations from the active model (popularity for a user it never saw)."""
    from api.cli import load_settings
    from api.services import build_store
    from knowledge.room import RoomState
    from recsys.service import build_recommender

    settings = load_settings(data_dir=data_dir)
    store = build_store(settings)
    try:
        service = build_recommender(store, settings)
        state = RoomState.load(store, room) if room else None
        for r in service.recommend(user_id, k=k, room=state):
            title = (r.product or {}).get("title", "")
            print(f"{r.item_id}\t{r.score:.4f}\t{r.reason}\t{title}")
    finally:
        store.close()


app.command("due")(due)
app.command("segments")(segments)
app.command("links")(links)


def _replenishment(purchases: Path, columns: Columns, gap_col: str | None, folds: int, task: str,
                   as_json: bool) -> dict[str, Any] | None:
    """The replenishment task's report; with the other tasks, an {"error"} note when the file has no clock."""
    from recsys.replenish import ReplenishmentError

    if task not in ("all", "replenishment"):
        raise InvalidInputError(f"--task must be 'all' or 'replenishment', got {task!r}")
    try:
        report = replenishment_report(purchases, columns, gap_col, folds)
    except ReplenishmentError as exc:
        if task == "replenishment":
            raise
        err.print(f"[yellow]replenishment skipped: {exc}[/]")
        return {"error": str(exc)}
    if task == "replenishment":
        if as_json:
            print(json.dumps({"replenishment": report}))
        else:
            Console().print(replenishment_table(report))
    return report
