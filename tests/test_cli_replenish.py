"""`cuecard recsys due`, `segments`, `links` and `eval --task replenishment` on small files with known answers."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app


def _orders(tmp_path: Path) -> Path:
    path = tmp_path / "p.csv"
    rows = ["user_id,item_id,order,gap"] + [f"u,milk,{o},{'' if o == 1 else 10}" for o in range(1, 6)]
    rows += [f"u,bread,{o},{'' if o == 1 else 10}" for o in (2, 3, 4, 5)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_due_in_days_from_the_gap_column(tmp_path: Path) -> None:
    """Milk every 10 days (gap column): due 10 days after the last order; JSON lists it."""
    r = CliRunner().invoke(app, ["recsys", "due", "--purchases", str(_orders(tmp_path)), "--order-col", "order",
                                 "--gap-col", "gap", "--within", "10", "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    milk = next(d for d in body["due"] if d["item_id"] == "milk")
    assert body["unit"] == "days" and milk["due_in"] == 10.0


def test_no_clock_is_an_error_and_replenishment_eval_runs_alone(tmp_path: Path) -> None:
    """Without an order/time column the command fails with the reason; eval --task replenishment prints JSON."""
    path = _orders(tmp_path)
    bad = CliRunner().invoke(app, ["recsys", "due", "--purchases", str(path)])
    assert bad.exit_code != 0 and "no time, days-between-orders or order column" in str(bad.exception)
    r = CliRunner().invoke(app, ["recsys", "eval", "--purchases", str(path), "--order-col", "order", "--task",
                                 "replenishment", "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)["replenishment"]
    assert rep["unit"] == "orders" and set(rep["pooled"]) == {"most_frequent", "most_recent", "cuecard"}


def test_links_import_and_segments_table(tmp_path: Path) -> None:
    """Links import from CSV (platform from the option); segments prints counts."""
    links = tmp_path / "links.csv"
    links.write_text("platform_user_id,user_id\ndy-1,u\n")
    r = CliRunner().invoke(app, ["recsys", "links", "--file", str(links), "--platform", "douyin",
                                 "--data-dir", str(tmp_path / "d")])
    assert r.exit_code == 0 and "1 links" in r.output
    r = CliRunner().invoke(app, ["recsys", "segments", "--purchases", str(_orders(tmp_path)), "--order-col", "order",
                                 "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["counts"]["segment.loyal"] == 1  # 5 orders, all within the window
