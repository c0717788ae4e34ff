"""The `cuecard` command line: `serve`, `demo`, and the `intents`, `kb`, `products`, `recsys` groups."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from api.commands import intents, kb, products, recsys
from api.settings import Settings
from knowledge.errors import CueCardError

console = Console(stderr=True)
app = typer.Typer(help="CueCard: a copilot for live-stream commerce.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.add_typer(intents.app, name="intents")
app.add_typer(kb.app, name="kb")
app.add_typer(products.app, name="products")
app.add_typer(recsys.app, name="recsys")


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with command-line overrides that were given."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except Exception as exc:  # pydantic's ValidationError, phrased for a terminal
        raise typer.BadParameter(str(exc)) from exc


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default CUECARD_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default CUECARD_PORT or 8000).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (default CUECARD_DATA_DIR).")] = None,
) -> None:
    """Serve the REST and WebSocket API, the teleprompter and the widget."""
    import uvicorn

    from api.app import create_app

    settings = load_settings(host=host, port=port, data_dir=data_dir)
    base = f"http://{settings.host}:{settings.port}"
    console.print(f"[bold]CueCard[/] serving on {base}  ·  API docs {base}/docs  ·  health {base}/health")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


@app.command()
def demo(
    data_dir: Annotated[Path | None, typer.Option(help="Data directory (default CUECARD_DATA_DIR).")] = None,
) -> None:
    """Seed the demo store (products, FAQs, purchase history, a room) if it is empty, and summarise it."""
    from api.services import build_store
    from knowledge.demo import seed_demo

    settings = load_settings(data_dir=data_dir)
    store = build_store(settings)
    try:
        summary = seed_demo(store)
        console.print(summary or "the store already holds data; nothing seeded")
        console.print(f"products: {store.count_products()}  purchases: {store.count_purchases()}  "
                      f"rooms: {len(store.list_rooms())}")
    finally:
        store.close()


def main() -> None:
    """Entry point: run the CLI, turning CueCard errors into a message and exit code 2."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        app()
    except CueCardError as exc:
        console.print(f"[red]error:[/] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
