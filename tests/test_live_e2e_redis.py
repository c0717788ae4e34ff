"""End to end over PostgreSQL and Redis: two real `cuecard serve` processes on loopback share the
demo room. A comment ingested on A reaches the teleprompter and bot on B, in order; A (the room's
owner) is SIGKILLed; B takes the room over within the lease and the group's count carries on; a
subscriber of A reconnects to B with since= and misses nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from backends import Postgres, Redis, postgres, redis_server
from servers import free_port
from websockets.asyncio.client import connect

from knowledge.demo import seed_demo
from knowledge.store import Store

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
KEYS = {"ingest": "r-ingest", "host": "r-host", "bot": "r-bot", "admin": "r-admin"}


class Instance:
    """One `cuecard serve` over the shared PostgreSQL and Redis."""

    def __init__(self, data_dir: Path, database_url: str, bus_url: str) -> None:
        self.data_dir, self.database_url, self.bus_url = data_dir, database_url, bus_url
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def ws(self, kind: str, role: str, since: int | None = None) -> str:
        tail = "" if since is None else f"&since={since}"
        return f"ws://127.0.0.1:{self.port}/ws/rooms/demo/{kind}?key={KEYS[role]}{tail}"

    def start(self) -> Instance:
        env = {**os.environ, "CUECARD_DATA_DIR": str(self.data_dir), "CUECARD_LOAD_DEMO": "false",
               "CUECARD_PORT": str(self.port), "OPENBLAS_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
               "CUECARD_DATABASE_URL": self.database_url, "CUECARD_BUS_URL": self.bus_url,
               "CUECARD_BUS_LEASE_MS": "1500",
               **{f"CUECARD_API_KEY_{r.upper()}": k for r, k in KEYS.items()}}
        self.proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--no-replay"], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 300
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("server did not start in time")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)


@pytest.fixture(scope="module")
def backends() -> Iterator[tuple[Postgres, Redis]]:
    """A throwaway PostgreSQL and redis-server."""
    with postgres() as pg, redis_server() as rd:
        yield pg, rd


async def recv_until(ws: Any, pred: Any, timeout: float = 30.0) -> dict[str, Any]:
    """The first frame matching `pred`."""
    async def loop() -> dict[str, Any]:
        while True:
            msg = json.loads(await ws.recv())
            if pred(msg):
                return msg
    return await asyncio.wait_for(loop(), timeout)


def group_count(msg: dict[str, Any]) -> int:
    """The price-question group's count in a `cards` frame (0 when absent)."""
    return max([c["count"] for c in msg.get("cards", []) if msg["type"] == "cards"
                and c["kind"] == "question_group" and c["intent"] == "price"] or [0])


def test_two_instances_share_a_room_and_survive_the_owner(backends: tuple[Postgres, Redis],
                                                          tmp_path: Path) -> None:
    """Ingest on A → cards and answers on B, in order; SIGKILL A (the owner) → B takes over, the count
    goes on from 4 to 7, and a bot of A replays everything from B with since=."""
    pg, rd = backends
    url = pg.create_database("e2e_two")
    store = Store(url)
    seed_demo(store)
    store.close()
    a = Instance(tmp_path / "a", url, rd.url).start()
    b = Instance(tmp_path / "b", url, rd.url).start()
    acked: list[int] = []

    async def phase_one() -> None:
        async with connect(a.ws("comments", "ingest")) as ingest:  # A loads the room first: A owns it
            assert json.loads(await ingest.recv())["type"] == "hello"
            async with connect(b.ws("teleprompter", "host")) as tp, connect(b.ws("bot", "bot")) as bot:
                await tp.recv()
                await bot.recv()
                now = time.time()
                batch = [{"comment_id": f"q{i}", "user_id": f"u{i}", "text": "1号链接多少钱", "ts": now}
                         for i in range(4)]
                await ingest.send(json.dumps({"type": "comments", "comments": batch}))
                ack = await recv_until(ingest, lambda m: m["type"] == "ack")
                acked.extend(ack["seqs"])
                assert (await recv_until(tp, lambda m: group_count(m) == 4))["type"] == "cards"
                answers = (await recv_until(bot, lambda m: m["type"] == "answers"))["answers"]
                assert [x["comment_id"] for x in answers] == [f"q{i}" for i in range(4)]

    async def phase_two() -> float:
        async with connect(b.ws("teleprompter", "host")) as tp, connect(b.ws("comments", "ingest")) as ingest:
            await tp.recv()
            await ingest.recv()
            a.kill(signal.SIGKILL)
            killed = time.time()
            now = time.time()
            batch = [{"comment_id": f"q{i}", "user_id": f"u{i}", "text": "1号链接多少钱", "ts": now}
                     for i in range(4, 7)]
            await ingest.send(json.dumps({"type": "comments", "comments": batch}))
            ack = await recv_until(ingest, lambda m: m["type"] == "ack")
            acked.extend(ack["seqs"])
            await recv_until(tp, lambda m: group_count(m) == 7, timeout=15)
            took = time.time() - killed
        async with connect(b.ws("bot", "bot", since=0)) as bot:  # A's bot, reconnecting to B
            replay = await recv_until(bot, lambda m: m["type"] == "replay")
            assert [c["seq"] for c in replay["comments"]] == acked
        return took

    try:
        asyncio.run(phase_one())
        took = asyncio.run(phase_two())
        assert took < 5.0, f"take-over took {took:.1f} s"
    finally:
        a.kill()
        b.kill(signal.SIGTERM)
