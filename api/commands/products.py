"""`cuecard products`: import and list products."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Import and list products.", no_args_is_help=True)
err = Console(stderr=True)
out = Console(soft_wrap=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (default CUECARD_DATA_DIR).")]


@app.command("import")
def import_products(
    file: Annotated[Path, typer.Argument(help="JSONL: {id, title, category, price, stock, attributes, description} a line.")],
    data_dir: DataDir = None,
    embedding_model: Annotated[str | None, typer.Option("--embedding-model", help="Embedder (default CUECARD_EMBEDDING_MODEL).")] = None,
) -> None:
    """Create or replace products; their attributes become searchable facts at once."""
    from api.commands.kb import open_kb
    from knowledge.documents import load_products

    items = load_products(file)
    with open_kb(data_dir, embedding_model) as (store, kb):
        started = time.perf_counter()
        with err.status(f"importing {len(items)} products and indexing their facts…"):
            n = kb.upsert_products(items)
        err.print(f"imported {n} products from {file.name} in {time.perf_counter() - started:.1f}s; "
                  f"the store holds {store.count_products()} products")


@app.command("list")
def list_products(
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    data_dir: DataDir = None,
) -> None:
    """List products with their live price and stock."""
    from api.cli import load_settings
    from api.services import build_store

    store = build_store(load_settings(data_dir=data_dir))
    try:
        rows = [p for p in store.list_products() if category is None or p["category"] == category]
    finally:
        store.close()
    table = Table("id", "title", "category", "price", "stock")
    for p in rows:
        table.add_row(p["id"], p["title"], p["category"], f"{p['price']:.2f}", str(p["stock"]))
    out.print(table)
    err.print(f"{len(rows)} products")
