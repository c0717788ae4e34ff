"""Replays the scripted demo comment stream into a room in real time, the way `cuecard serve` shows
the product: comments arrive with the stream's rhythm (bursts included), and the product on stage
follows the stream's scenes."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from knowledge.errors import OverloadedError
from knowledge.store import CommentIn

log = logging.getLogger("cuecard.replay")


async def replay_demo(hub: Any, room_id: str = "demo", *, speed: float = 1.0, rounds: int | None = None,
                      n: int = 2000, duration_s: float = 600.0) -> int:
    """Feed `demo_comment_stream()` into `room_id` (`rounds` times; None: forever); return comments sent."""
    from knowledge.demo import demo_comment_stream

    live = await hub.room(room_id)
    lineup = live.state.lineup
    kinds = [p.get("attributes", {}).get("类型", p["title"]) for p in lineup] or None
    scene_s = duration_s / max(1, len(lineup))
    sent, round_no = 0, 0
    while rounds is None or round_no < rounds:
        start, scene = time.monotonic(), -1
        batch: list[CommentIn] = []
        for c in demo_comment_stream(kinds, n=n, duration_s=duration_s):
            due = start + c["ts"] / speed
            if lineup and int(c["ts"] // scene_s) % len(lineup) != scene:
                scene = int(c["ts"] // scene_s) % len(lineup)
                await hub.set_on_stage(room_id, lineup[scene]["id"])
            if time.monotonic() < due and batch:
                sent += await _send(hub, room_id, batch)
                batch = []
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            batch.append(CommentIn(comment_id=f"{c['comment_id']}-r{round_no}", text=c["text"],
                                   user_id=c["user_id"], ts=time.time(), platform=c.get("platform", "douyin")))
        sent += await _send(hub, room_id, batch)
        round_no += 1
    return sent


async def _send(hub: Any, room_id: str, batch: list[CommentIn]) -> int:
    while batch:
        try:
            await hub.ingest(room_id, batch)
            return len(batch)
        except OverloadedError:
            log.warning("room %s is overloaded; the demo replay waits", room_id)
            await asyncio.sleep(0.5)
    return 0
