"""End to end on a real server (`cuecard serve` on 127.0.0.1, the real model): forty viewers asking link 2's
price in forty wordings become one question card; "多大" for the same product is never on that card."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_frames import PRICE_WORDINGS
from test_live_e2e import KEYS, Server, recv_until
from websockets.asyncio.client import connect

from knowledge.demo import seed_demo
from knowledge.store import Store

pytestmark = pytest.mark.slow
SIZE_WORDINGS = ["2号多大", "2号有多大呀", "二号多大的"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server over a fresh demo shop."""
    path: Path = tmp_path_factory.mktemp("frames-e2e")
    store = Store(f"sqlite:///{(path / 'cuecard.db').resolve()}")
    seed_demo(store)
    store.close()
    srv = Server(path).start()
    yield srv
    srv.kill(signal.SIGTERM)


def test_forty_price_wordings_are_one_card_and_size_is_another(server: Server) -> None:
    """40 distinct viewers, 40 wordings of link 2's price → one price card counting ≥ 36 for link 2;
    three size questions about link 2 are not counted on it."""
    lineup = httpx.get(f"{server.base}/rooms/demo/lineup", headers={"X-API-Key": KEYS["host"]}).json()["lineup"]
    second = lineup[1]["id"]

    async def run() -> dict[str, dict[str, Any]]:
        cards: dict[str, dict[str, Any]] = {}
        async with connect(server.ws("demo", "teleprompter", "host")) as tp, \
                connect(server.ws("demo", "comments", "ingest")) as ingest:
            await tp.recv()
            await ingest.recv()
            now = time.time()
            batch = [{"comment_id": f"fp-{i}", "user_id": f"viewer{i}", "text": w, "ts": now}
                     for i, w in enumerate(PRICE_WORDINGS)]
            batch += [{"comment_id": f"fs-{i}", "user_id": f"sizer{i}", "text": w, "ts": now}
                      for i, w in enumerate(SIZE_WORDINGS)]
            await ingest.send(json.dumps({"type": "comments", "comments": batch}))
            await recv_until(ingest, lambda m: m["type"] == "ack")

            def settled(m: dict[str, Any]) -> bool:
                for c in m.get("cards", []) if m["type"] == "cards" else []:
                    if c["kind"] == "question_group":
                        cards[c["id"]] = c
                return any(c["intent"] == "price" and c["count"] >= 36 for c in cards.values())
            with contextlib.suppress(TimeoutError):  # the asserts below say what was seen
                await recv_until(tp, settled, timeout=60)
        return cards

    cards = asyncio.run(run())
    price = [c for c in cards.values() if c["intent"] == "price" and c["product_id"] == second]
    assert price, cards
    best = max(price, key=lambda c: c["count"])
    assert best["count"] >= 36, [(c["title"], c["count"]) for c in cards.values()]
    assert best["link"] == 2
    assert not any("多大" in s for s in best["samples"])
    # Every price card of link 2 together can hold at most the 40 price questions: no size question joined one.
    assert sum(c["count"] for c in price) <= 40
