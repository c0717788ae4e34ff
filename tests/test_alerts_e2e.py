"""`room_stats` over the ingest WebSocket of a real uvicorn: audience alerts as teleprompter cards,
bad numbers answered with a typed error (issue 13)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from servers import serve_in_thread
from websockets.asyncio.client import connect

KEYS = {"ingest": "a-ingest", "host": "a-host", "bot": "a-bot", "admin": "a-admin"}


async def _until(ws: Any, pred: Any, timeout: float = 5.0) -> dict[str, Any]:
    async def loop() -> dict[str, Any]:
        while True:
            msg = json.loads(await ws.recv())
            if pred(msg):
                return msg  # type: ignore[no-any-return]
    return await asyncio.wait_for(loop(), timeout)


def test_room_stats_drop_gives_an_alert_card_and_bad_stats_an_error(tmp_path: Path) -> None:
    """1000 → 600 viewers with no comments: viewer-drop and low-interaction cards; negative viewers: error."""
    from live_fakes import seed_room

    from api.app import create_app
    from api.settings import Settings
    from knowledge.embedder import HashingEmbedder

    app = create_app(Settings(data_dir=tmp_path, load_demo=False, embedding_model="hashing",
                              **{f"api_key_{r}": k for r, k in KEYS.items()}), embedder=HashingEmbedder(64))
    with serve_in_thread(app) as port:
        seed_room(app.state.services.store)
        ws = f"ws://127.0.0.1:{port}/ws/rooms/r1"

        async def run() -> tuple[dict[str, Any], dict[str, Any]]:
            async with connect(f"{ws}/teleprompter?key={KEYS['host']}") as tp, \
                    connect(f"{ws}/comments?key={KEYS['ingest']}") as ingest:
                await tp.recv()
                await ingest.recv()
                await ingest.send(json.dumps({"type": "room_stats", "online_viewers": 1000, "likes": 5, "ts": 100.0}))
                await ingest.send(json.dumps({"type": "room_stats", "online_viewers": 600, "likes": 9, "ts": 160.0}))
                cards = await _until(tp, lambda m: m["type"] == "cards" and any(c["kind"] == "alert" for c in m["cards"]))
                await ingest.send(json.dumps({"type": "room_stats", "online_viewers": -3}))
                error = await _until(ingest, lambda m: m["type"] == "error")
                return cards, error

        cards, error = asyncio.run(run())
        titles = {c["title"] for c in cards["cards"]}
        assert titles == {"viewer_drop", "low_interaction"}
        assert "online_viewers" in error["reason"]
