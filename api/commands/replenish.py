"""`cuecard recsys due` and `cuecard recsys segments`, and the `replenishment` task of `cuecard recsys eval`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from recsys.data import Columns

GapCol = Annotated[str | None, typer.Option(
    "--gap-col", help="Column with the days since the shopper's previous order (e.g. days_since_prior_order; "
                      "needs --order-col).")]
Purchases = Annotated[Path, typer.Option("--purchases", help="CSV or Parquet file of purchase lines.")]
UserCol = Annotated[str, typer.Option("--user-col", help="Column holding the user id.")]
ItemCol = Annotated[str, typer.Option("--item-col", help="Column holding the item (product) id.")]
BasketCol = Annotated[str | None, typer.Option("--basket-col", help="Column holding the basket / order id.")]
OrderCol = Annotated[str | None, typer.Option("--order-col", help="Column ordering a user's baskets (order number).")]
TimeCol = Annotated[str | None, typer.Option("--time-col", help="Column with the purchase time.")]
SpendCol = Annotated[str | None, typer.Option("--spend-col", help="Column with the line's amount paid.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def replenishment_report(purchases: Path, columns: Columns, gap_col: str | None, folds: int,
                         k: int = 5) -> dict[str, Any]:
    """The `replenishment` eval task on a file: per fold and pooled precision/recall@k with its lift."""
    from recsys import replenish_eval
    from recsys.replenish import timeline_from_file

    timeline = timeline_from_file(purchases, columns, gap_col)
    runs = replenish_eval.evaluate(timeline, folds, k)
    total = replenish_eval.pooled(runs) if runs else {}
    return {"unit": timeline.unit, "k": k, "folds": runs, "pooled": total,
            "lift": [replenish_eval.lift(r) for r in runs],
            "lift_pooled": replenish_eval.lift(total) if runs else None}


def replenishment_table(report: dict[str, Any]) -> Table:
    """Precision@k and recall@k of each method, fold by fold and pooled."""
    k = report["k"]
    table = Table(title=f"replenishment @ {k} (times in {report['unit']}; shoppers whose held-out basket rebuys something)")
    table.add_column("fold", justify="left")
    for m in ("most_frequent", "most_recent", "cuecard"):
        table.add_column(f"{m} P@{k}", justify="right")
        table.add_column(f"R@{k}", justify="right")
    table.add_column("cuecard ÷ best", justify="right")
    table.add_column("users", justify="right")
    rows = [(f"{i}" + (" (last)" if i == 1 else ""), r, lift) for i, (r, lift)
            in enumerate(zip(report["folds"], report["lift"], strict=True), 1)]
    if len(report["folds"]) > 1:
        rows.append(("pooled", report["pooled"], report["lift_pooled"]))
    for label, r, lift in rows:
        cells = [f"{r[m][x]:.4f}" for m in ("most_frequent", "most_recent", "cuecard") for x in ("precision", "recall")]
        table.add_row(label, *cells, "–" if lift is None else f"{lift:.3f}×", str(r["cuecard"]["users"]))
    return table


def due(purchases: Purchases, user_col: UserCol = "user_id", item_col: ItemCol = "item_id",
        basket_col: BasketCol = None, order_col: OrderCol = None, time_col: TimeCol = None, gap_col: GapCol = None,
        within: Annotated[float, typer.Option("--within", help="Due within this many days (or orders).")] = 7.0,
        user: Annotated[str | None, typer.Option("--user", help="Only this shopper.")] = None,
        limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 50,
        as_json: AsJson = False) -> None:
    """Which shoppers are due to rebuy which consumables, soonest (most overdue) first."""
    from recsys.replenish import Replenishment, timeline_from_file

    columns = Columns(user_col, item_col, basket_col, order_col, time_col)
    rep = Replenishment().fit(timeline_from_file(purchases, columns, gap_col))
    rows = [d.public() for d in rep.due(within, user, limit)]
    if as_json:
        print(json.dumps({"unit": rep.unit, "skipped": rep.skipped, "due": rows}, ensure_ascii=False))
        return
    table = Table(title=f"due within {within:g} {rep.unit} ({len(rows)} shown)")
    for col in ("user", "item", "last bought", "due", "due in", "interval", "purchases", "confidence", "from"):
        table.add_column(col, justify="left" if col in ("user", "item", "from") else "right")
    for r in rows:
        table.add_row(r["user_id"], r["item_id"], f"{r['last_bought']:.1f}", f"{r['due']:.1f}", f"{r['due_in']:.1f}",
                      f"{r['interval']:.1f}", str(r["purchases"]), f"{r['confidence']:.2f}", r["source"])
    Console().print(table)


def segments(purchases: Purchases, user_col: UserCol = "user_id", item_col: ItemCol = "item_id",
             basket_col: BasketCol = None, order_col: OrderCol = None, time_col: TimeCol = None,
             gap_col: GapCol = None, spend_col: SpendCol = None,
             limit: Annotated[int, typer.Option("--limit", min=0, help="Shoppers listed in the table.")] = 20,
             as_json: AsJson = False) -> None:
    """Each shopper's RFM segment and churn risk, with counts per segment and per risk."""
    from recsys.segments import Segmenter, SegmentSettings, activity_from_file

    seg = Segmenter(SegmentSettings()).fit(activity_from_file(
        purchases, Columns(user_col, item_col, basket_col, order_col, time_col), gap_col, spend_col))
    profiles = seg.profiles()
    if as_json:
        print(json.dumps({"unit": seg.unit, "counts": seg.counts(), "shoppers": [p.public() for p in profiles]},
                         ensure_ascii=False))
        return
    table = Table(title=f"segments ({len(profiles)} shoppers, times in {seg.unit})")
    for col in ("user", "segment", "high value", "churn risk", "orders", "last", "rhythm", "spend"):
        table.add_column(col, justify="left" if col in ("user", "segment", "churn risk") else "right")
    for p in profiles[:limit]:
        table.add_row(p.user_id, p.segment, "yes" if p.high_value else "", p.risk, str(p.orders),
                      f"{p.recency:.1f}", f"{p.rhythm:.1f}" if p.rhythm else "–", f"{p.spend:.2f}")
    Console().print(table)
    counts = Table(title="counts")
    counts.add_column("what")
    counts.add_column("shoppers", justify="right")
    for key, n in seg.counts().items():
        counts.add_row(key, str(n))
    Console().print(counts)


def links(
    file: Annotated[Path, typer.Option("--file", help="CSV with platform, platform_user_id, user_id columns.")],
    platform: Annotated[str | None, typer.Option("--platform", help="Platform for every row (else a column).")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data directory (default CUECARD_DATA_DIR).")] = None,
) -> None:
    """Import platform user → shop user links (for returning-buyer cards) from a CSV into the store."""
    import pandas as pd

    from api.cli import load_settings
    from api.services import build_store
    from assistant.returning import ReturningBuyers
    from recsys.errors import PurchaseDataError, UnknownColumnError

    if not file.is_file():
        raise PurchaseDataError(f"link file {str(file)!r} does not exist")
    frame = pd.read_csv(file, dtype=str).fillna("")
    if platform:
        frame["platform"] = platform
    missing = [c for c in ("platform", "platform_user_id", "user_id") if c not in frame.columns]
    if missing:
        raise UnknownColumnError(f"{file.name} has no column {', '.join(missing)}; its columns are {list(frame.columns)}")
    store = build_store(load_settings(data_dir=data_dir))
    try:
        n = ReturningBuyers(store).link(frame[["platform", "platform_user_id", "user_id"]].to_dict("records"))
        Console(stderr=True).print(f"[green]stored[/] {n:,} links")
    finally:
        store.close()
