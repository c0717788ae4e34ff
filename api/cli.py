"""The `cuecard` command line: `serve`, `demo`, and the `intents`, `kb`, `products`, `recsys` groups."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from api.commands import answers, db, intents, kb, products, recsys, review
from api.settings import Settings
from knowledge.errors import CueCardError

console = Console(stderr=True)
app = typer.Typer(help="CueCard: a copilot for live-stream commerce.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.add_typer(db.app, name="db")
app.add_typer(answers.app, name="answers")
app.add_typer(intents.app, name="intents")
app.add_typer(kb.app, name="kb")
app.add_typer(products.app, name="products")
app.add_typer(recsys.app, name="recsys")
app.command("review")(review.review)


def load_settings(**overrides: Any) -> Settings:
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
    replay: Annotated[bool, typer.Option(help="Replay the demo comment stream into room 'demo'.")] = True,
    speed: Annotated[float, typer.Option(min=0.1, max=100.0, help="Demo replay speed (1 = real time).")] = 1.0,
) -> None:
    """Serve the REST and WebSocket API, the teleprompter and the widget; replay the demo room."""
    import asyncio

    import uvicorn

    from api.app import create_app

    settings = load_settings(host=host, port=port, data_dir=data_dir)
    web = create_app(settings)
    # No per-message deflate: a broadcast frame would be compressed once per subscriber, which at
    # 200 subscribers cost a third of the server's CPU (bench/live_load.py, docs/benchmarks.md).
    server = uvicorn.Server(uvicorn.Config(web, host=settings.host, port=settings.port, log_level="warning",
                                           ws_per_message_deflate=False))

    async def run() -> None:
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        if server.started:
            # Everything loaded so far (models, indexes, the store's rows) lives as long as the server.
            # A full collection scanning it all stopped the process for ~0.3 s under load (the p99 of
            # bench/live_load.py); frozen, those objects are never scanned again. Done here, once per
            # process, not in every app's start-up (tests start hundreds).
            gc.collect()
            gc.freeze()
            live = web.state.services.live
            has_demo = any(r["id"] == "demo" for r in web.state.services.store.list_rooms())
            _print_banner(settings, live.auth.keys, has_demo)
            if replay and has_demo:
                # One replay of the demo stream as a show; then the show ends and its review is ready.
                replaying = asyncio.create_task(_demo_show(web, settings, live.auth.keys["host"], speed))
                serving.add_done_callback(lambda _: replaying.cancel())
        await serving

    asyncio.run(run())


async def _demo_show(web: Any, settings: Settings, host_key: str, speed: float) -> None:
    """Replay the demo stream once as a show, end it, and print where its review is."""
    from api.commands.review import replay_show, review_url

    show = await replay_show(web.state.services, "demo", speed=speed)
    console.print(f"  demo show ended; review  {review_url(f'http://{settings.host}:{settings.port}', 'demo', show['id'], host_key)}",
                  soft_wrap=True)


def _print_banner(settings: Settings, keys: dict[str, str], has_demo: bool) -> None:
    """Where everything is, and the keys to open it."""
    base = f"http://{settings.host}:{settings.port}"
    console.print(f"[bold]CueCard[/] serving on {base}", soft_wrap=True)
    if has_demo:
        console.print(f"  teleprompter  {base}/teleprompter/demo?key={keys['host']}", soft_wrap=True)
        console.print(f"  dashboard     {base}/dashboard/demo?key={keys['host']}", soft_wrap=True)
        console.print(f"  widget demo   {base}/widget/demo?key={keys['widget']}", soft_wrap=True)
    console.print(f"  API docs      {base}/docs      health {base}/health", soft_wrap=True)
    console.print("  API keys (set CUECARD_API_KEY_<ROLE> to fix them):")
    for role, key in keys.items():
        console.print(f"    {role:<7} {key}")


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
