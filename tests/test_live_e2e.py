"""End to end on a real server: `cuecard serve` in a subprocess on 127.0.0.1:<free port>, the real
model and whatever real parts the services build, real WebSocket clients. A SIGKILLed server,
restarted, has every comment it acknowledged."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import free_port
from websockets.asyncio.client import connect

from knowledge.demo import generate_products, seed_demo
from knowledge.store import Store

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
KEYS = {"ingest": "e2e-ingest", "host": "e2e-host", "bot": "e2e-bot", "admin": "e2e-admin"}



class Server:
    """`cuecard serve` in a subprocess over a data directory that outlives it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self, room: str, kind: str, role: str, since: int | None = None) -> str:
        tail = "" if since is None else f"&since={since}"
        return f"ws://127.0.0.1:{self.port}/ws/rooms/{room}/{kind}?key={KEYS[role]}{tail}"

    def start(self) -> Server:
        env = {**os.environ, "CUECARD_DATA_DIR": str(self.data_dir), "CUECARD_LOAD_DEMO": "false",
               "CUECARD_PORT": str(self.port), "OPENBLAS_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
               **{f"CUECARD_API_KEY_{r.upper()}": k for r, k in KEYS.items()}}
        self.proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--no-replay"], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 240
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
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
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the demo shop (seeded once)."""
    path = tmp_path_factory.mktemp("live-e2e")
    store = Store(f"sqlite:///{(path / 'cuecard.db').resolve()}")
    seed_demo(store)
    store.close()
    return path


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[Server]:
    """One server for the module (starting one loads every model); the SIGKILL test ends it."""
    srv = Server(data_dir).start()
    yield srv
    srv.kill(signal.SIGTERM)


async def recv_until(ws: Any, pred: Any, timeout: float = 30.0) -> dict[str, Any]:
    """The first frame matching `pred`."""
    async def loop() -> dict[str, Any]:
        while True:
            msg = json.loads(await ws.recv())
            if pred(msg):
                return msg
    return await asyncio.wait_for(loop(), timeout)


def test_comments_become_cards_and_replay(server: Server) -> None:
    """Repeated price questions and a run of link requests become a group card and a surge card on the
    teleprompter; a reconnect with since=<seq> replays the analysed comments."""
    room = httpx.get(f"{server.base}/rooms/demo/lineup", headers={"X-API-Key": KEYS["host"]}).json()
    first = room["lineup"][0]["id"]
    price = f"{room['lineup'][0]['price']:g}"

    async def run() -> None:
        async with connect(server.ws("demo", "teleprompter", "host")) as tp, \
                connect(server.ws("demo", "bot", "bot")) as bot, \
                connect(server.ws("demo", "comments", "ingest")) as ingest:
            hello = json.loads(await tp.recv())
            assert hello["type"] == "hello" and hello["on_stage"] == first
            assert json.loads(await ingest.recv())["type"] == "hello"
            assert json.loads(await bot.recv())["type"] == "hello"
            now = time.time()
            batch = [{"comment_id": f"e2e-q{i}", "user_id": f"u{i}", "text": "1号链接多少钱", "ts": now} for i in range(4)]
            batch += [{"comment_id": f"e2e-b{i}", "user_id": f"b{i}", "text": "1号链接", "ts": now} for i in range(6)]
            await ingest.send(json.dumps({"type": "comments", "comments": batch}))
            ack = await recv_until(ingest, lambda m: m["type"] == "ack")
            assert ack["comment_ids"] == [c["comment_id"] for c in batch] and ack["duplicates"] == 0
            seen: dict[str, Any] = {}
            def has_both(m: dict[str, Any]) -> bool:
                for c in m.get("cards", []) if m["type"] == "cards" else []:
                    seen[c["kind"]] = c
                return "question_group" in seen and "purchase_surge" in seen
            await recv_until(tp, has_both)
            group, surge = seen["question_group"], seen["purchase_surge"]
            assert (group["intent"], group["count"], group["link"]) == ("price", 4, 1)
            assert group["title"] == "1号链接多少钱" and group["product_id"] == first
            assert surge["title"] == "6 viewers want the link for #1"
            # The real answerer: each price question gets the on-stage product's price, with sources;
            # the group card gets it as its talking point.
            answers = (await recv_until(bot, lambda m: m["type"] == "answers"))["answers"]
            assert [a["comment_id"] for a in answers] == [f"e2e-q{i}" for i in range(4)]
            assert all(price in a["text"] and not a["handoff"] and a["sources"] for a in answers), answers[0]
            card = await recv_until(tp, lambda m: any(c["id"] == group["id"] and c["talking_point"]
                                                      for c in m.get("cards", [])))
            assert price in next(c for c in card["cards"] if c["id"] == group["id"])["talking_point"]
        await asyncio.sleep(0.5)  # analyses are recorded just after the cards go out
        async with connect(server.ws("demo", "bot", "bot", since=ack["seqs"][0])) as bot:
            replay = await recv_until(bot, lambda m: m["type"] == "replay")
            assert [c["comment_id"] for c in replay["comments"]] == [c["comment_id"] for c in batch[1:]]
            assert replay["comments"][-1]["analysis"]["top_intent"] == "purchase"

    asyncio.run(run())


def test_on_demand_answer_uses_the_product_the_question_names(server: Server) -> None:
    """POST /rooms/demo/answer: "耳机保修多久" is answered from the earbuds' warranty, not the on-stage cream's."""
    room = httpx.get(f"{server.base}/rooms/demo/lineup", headers={"X-API-Key": KEYS["host"]}).json()
    earbuds = next(p for p in room["lineup"] if "耳机" in p["title"])
    warranty = next(p for p in generate_products() if p["id"] == earbuds["id"])["attributes"]["保修"]
    assert room["lineup"][0]["id"] != earbuds["id"]  # the earbuds are not on stage
    r = httpx.post(f"{server.base}/rooms/demo/answer", json={"question": "耳机保修多久"},
                   headers={"X-API-Key": KEYS["bot"]}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["product_id"] == earbuds["id"]
    assert not body["handoff"] and f"faq-{earbuds['id']}-warranty" in body["sources"]
    assert warranty in body["text"]


def test_sigkill_loses_no_acknowledged_comment(server: Server, data_dir: Path) -> None:
    """Four connections stream comments; the server is SIGKILLed mid-stream; after a restart every
    comment that was acknowledged is in the store."""
    acked: set[str] = set()
    sent: set[str] = set()

    async def client(n: int) -> None:
        try:
            async with connect(server.ws("demo", "comments", "ingest")) as ws:
                await ws.recv()
                for b in range(10_000):
                    batch = [{"comment_id": f"kill-{n}-{b}-{i}", "user_id": f"k{n}", "text": f"{i}号链接多少钱"}
                             for i in range(20)]
                    sent.update(c["comment_id"] for c in batch)
                    await ws.send(json.dumps(batch))
                    msg = await recv_until(ws, lambda m: m["type"] in ("ack", "overloaded"))
                    if msg["type"] == "ack":
                        acked.update(msg["comment_ids"])
        except Exception:  # the server died under us: that is the point
            return

    async def run() -> None:
        tasks = [asyncio.create_task(client(n)) for n in range(4)]
        deadline = time.time() + 30
        while len(acked) < 400 and time.time() < deadline:
            await asyncio.sleep(0.05)
        server.kill(signal.SIGKILL)
        await asyncio.wait(tasks, timeout=30)

    try:
        asyncio.run(run())
    finally:
        server.kill()
    assert len(acked) >= 400
    restarted = Server(data_dir).start()
    try:
        stored: set[str] = set()
        since = 0
        while True:
            rows = httpx.get(f"{restarted.base}/rooms/demo/comments", params={"since": since, "limit": 1000},
                             headers={"X-API-Key": KEYS["admin"]}).json()
            if not rows:
                break
            stored.update(r["comment_id"] for r in rows)
            since = rows[-1]["seq"]
        assert acked <= stored, f"{len(acked - stored)} acknowledged comments were lost"
        assert stored <= sent | {r for r in stored if not r.startswith("kill-")}
    finally:
        restarted.kill(signal.SIGTERM)


def test_a_subscriber_that_stops_reading_is_dropped_over_a_real_socket(tmp_path: Path) -> None:
    """Over a real TCP socket, a teleprompter that never reads fills its kernel buffers, then its queue,
    and is dropped; a reading teleprompter keeps getting every update (uvicorn in a thread; the
    deterministic fake pipeline makes one new card per batch)."""
    from servers import serve_in_thread

    from api.app import create_app
    from api.settings import Settings
    from knowledge.embedder import HashingEmbedder

    app = create_app(Settings(data_dir=tmp_path, load_demo=False, embedding_model="hashing", subscriber_queue_size=16,
                              **{f"api_key_{r}": k for r, k in KEYS.items()}), embedder=HashingEmbedder(64))

    with serve_in_thread(app) as port:
        _drop_a_stuck_subscriber(app, port)


def _drop_a_stuck_subscriber(app: Any, port: int) -> None:
    """Body of the test above, against the server running on `port`."""
    from live_fakes import FakePipeline, seed_room

    seed_room(app.state.services.store)
    hub = app.state.services.live
    hub.pipeline = FakePipeline()
    stuck = socket.create_connection(("127.0.0.1", port))
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    stuck.sendall(f"GET /ws/rooms/r1/teleprompter?key={KEYS['host']} HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())

    async def run() -> int:
        async with connect(f"ws://127.0.0.1:{port}/ws/rooms/r1/teleprompter?key={KEYS['host']}") as reader:
            updates = 0
            async with httpx.AsyncClient() as client:
                for k in range(400):
                    texts = [f"问题{k}-{j}多少钱" for j in range(20)] * 2
                    r = await client.post(f"http://127.0.0.1:{port}/rooms/r1/comments", headers={"X-API-Key": KEYS["ingest"]},
                                          json={"comments": [{"comment_id": f"{k}-{i}", "text": t} for i, t in enumerate(texts)]})
                    assert r.status_code == 200
                    await recv_until(reader, lambda m: m["type"] == "cards" and not m["snapshot"], timeout=10)
                    updates += 1
                    if hub.counters["dropped_subscribers"]:
                        break
            return updates

    try:
        updates = asyncio.run(run())
        assert hub.counters["dropped_subscribers"] == 1
        assert len(hub.rooms["r1"].subscribers["host"]) <= 1  # only the reader is left (it may have closed)
        assert updates >= 17  # the reader saw every batch up to the drop
    finally:
        stuck.close()
