"""`cuecard review ROOM`: write a show's review to a file (HTML that opens offline, JSON or CSV).

Reads the store directly: no server needs to run. For the demo room with no show yet, the demo
stream is first replayed through the live hub in-process (fast-forwarded) and its show ended, so
`cuecard review demo --out review.html` works on a fresh checkout.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

err = Console(stderr=True)
FORMATS = ("html", "json", "csv")


async def replay_show(services: Any, room_id: str = "demo", *, speed: float = 1.0, n: int = 2000,
                      duration_s: float = 600.0, settle_s: float = 30.0) -> dict[str, Any]:
    """Replay the demo stream once into a fresh show of `room_id`, wait for its analysis, end the show."""
    from api.live.replay import replay_demo
    from knowledge.shows import ShowStore

    hub = services.live
    shows = services.extras.get("shows") or ShowStore(services.store)
    if hub.shows is not None:
        await asyncio.to_thread(hub.shows.flush, True)
    show = await asyncio.to_thread(shows.start, room_id, title="demo")
    if hub.shows is not None:
        hub.shows.started(show)
    await replay_demo(hub, room_id, speed=speed, rounds=1, n=n, duration_s=duration_s)
    deadline = time.monotonic() + settle_s
    live = await hub.room(room_id)
    while (live.pending or live.answering) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)  # the last batch's cards and answers
    if hub.shows is not None:
        await asyncio.to_thread(hub.shows.ended, room_id, show["id"])
    return await asyncio.to_thread(shows.end, room_id, show["id"])


def review_url(base: str, room_id: str, show_id: str, host_key: str) -> str:
    """Where a show's review page is."""
    return f"{base}/review/{room_id}/{show_id}?key={host_key}"


async def _record_demo(settings: Any, speed: float) -> None:
    from api.services import build_services

    services = build_services(settings)
    await services.live.start()
    try:
        err.print(f"the demo room has no show yet: replaying the demo stream at {speed:g}× to record one…")
        show = await replay_show(services, "demo", speed=speed)
        err.print(f"recorded show {show['id']} ({services.extras['shows'].count_comments(show)} comments)")
    finally:
        await services.live.stop()
        services.close()


def review(
    room: Annotated[str, typer.Argument(help="The room whose show to review.")],
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    show: Annotated[str | None, typer.Option("--show", help="Show id (default: the room's latest).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html | json | csv.")] = "html",
    lang: Annotated[str, typer.Option("--lang", help="Labels: zh-CN | en.")] = "zh-CN",
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data directory (default CUECARD_DATA_DIR).")] = None,
    speed: Annotated[float, typer.Option(min=1.0, max=1000.0, help="Replay speed when the demo room needs a show.")] = 60.0,
) -> None:
    """Write a show's review: HTML with its charts embedded (opens without a server), JSON or CSV."""
    from api import i18n
    from api.services import build_store
    from api.settings import Settings
    from assistant.review import build_review
    from assistant.review_report import Labels, render_csv, render_html, suggestion_text
    from knowledge.events import EventStore
    from knowledge.shows import ShowStore

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    chosen = i18n.normalise(lang)
    if chosen is None:
        raise typer.BadParameter(f"--lang must be one of {', '.join(i18n.LANGUAGES)}, not {lang!r}")
    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    settings = Settings(**overrides)
    store = build_store(settings)
    try:
        shows = ShowStore(store)
        has_demo = any(r["id"] == "demo" for r in store.list_rooms())
        if room == "demo" and show is None and (not has_demo or not shows.list_shows("demo")):
            store.close()
            asyncio.run(_record_demo(settings, speed))
            store = build_store(settings)
            shows = ShowStore(store)
        started = time.perf_counter()
        data = build_review(store, shows, EventStore(store), room, show)
        took = time.perf_counter() - started
        t = Labels(i18n.labels(chosen))
        for s in data["suggestions"]:
            s["text"] = suggestion_text(s, t)
        if fmt == "html":
            text = render_html(data, i18n.labels(chosen), chosen)
        elif fmt == "json":
            text = json.dumps(data, ensure_ascii=False, indent=2)
        else:
            text = render_csv(data)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        err.print(f"review of show {data['show']['id']} in room {room} ({data['show']['comments']} comments, "
                  f"built in {took:.2f}s) written to {out}")
    finally:
        store.close()
