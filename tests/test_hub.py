"""The live hub with deterministic fakes: stored before acknowledged, cards and answers broadcast,
slow subscribers dropped without slowing the room, overload said out loud, replay after `since`."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from live_fakes import FakeAnswerer, FakeCompliance, FakePipeline, FakeRecommender, seed_room

from api.live.hub import Hub, LiveConfig
from assistant.cards import BoardConfig
from knowledge.errors import NotFoundError, OverloadedError
from knowledge.store import CommentIn

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Client:
    """A subscriber's far end: records frames, or blocks forever when `stuck`."""

    def __init__(self, stuck: bool = False) -> None:
        self.frames: list[dict[str, Any]] = []
        self.closed: int | None = None
        self.stuck = stuck
        self.got = asyncio.Event()

    async def send(self, text: str) -> None:
        if self.stuck:
            await asyncio.Event().wait()
        self.frames.append(json.loads(text))
        self.got.set()

    async def close(self, code: int, reason: str) -> None:
        self.closed = code

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == kind]

    async def wait_for(self, pred: Any, timeout: float = 5.0) -> None:
        async def loop() -> None:
            while not pred(self):
                self.got.clear()
                await self.got.wait()
        await asyncio.wait_for(loop(), timeout)


def comments(*texts: str, start: int = 0, user: str | None = None) -> list[CommentIn]:
    return [CommentIn(comment_id=f"c{start + i}", text=t, user_id=user or f"u{start + i}", ts=1.0)
            for i, t in enumerate(texts)]


async def connect(hub: Hub, room: str, role: str, client: Client, since: int | None = None) -> Any:
    sub, pre = await hub.subscribe(room, role, client.send, client.close, since=since)
    sub.task = asyncio.create_task(sub.run(pre))
    return sub


async def test_ingest_stores_before_ack_and_is_idempotent(store: Any) -> None:
    """Every acknowledged comment is in the store; a replayed id keeps its first sequence number."""
    seed_room(store)
    hub = Hub(store, pipeline=FakePipeline())
    await hub.start()
    try:
        first = await hub.ingest("r1", comments("多少钱", "666"))
        again = await hub.ingest("r1", comments("多少钱"))
        assert [c.inserted for c in first] == [True, True]
        assert again[0].seq == first[0].seq and again[0].inserted is False
        assert [r["seq"] for r in store.comments_since("r1")] == [c.seq for c in first]
    finally:
        await hub.stop()


async def test_unknown_room_is_not_found(store: Any) -> None:
    """Ingesting into a room that does not exist raises NotFoundError."""
    hub = Hub(store)
    with pytest.raises(NotFoundError):
        await hub.ingest("nope", comments("hi"))


async def test_question_group_card_reaches_every_host(store: Any) -> None:
    """Two viewers asking the same price question make one group card with count 2 and link #1."""
    seed_room(store)
    hub = Hub(store, pipeline=FakePipeline())
    await hub.start()
    a, b = Client(), Client()
    try:
        await connect(hub, "r1", "host", a)
        await connect(hub, "r1", "host", b)
        stored = await hub.ingest("r1", comments("多少钱", "多少钱", "666"))
        for c in (a, b):
            await c.wait_for(lambda c: any(card["kind"] == "question_group"
                                           for m in c.of("cards") if not m["snapshot"] for card in m["cards"]))
            live = [m for m in c.of("cards") if not m["snapshot"]][0]
            card = live["cards"][0]
            assert (card["title"], card["count"], card["link"], card["product_id"]) == ("多少钱", 2, 1, "p1")
            assert live["upto_seq"] == stored[-1].seq
        assert a.of("hello")[0]["lineup"] == ["p1", "p2", "p3"]
    finally:
        await hub.stop()


async def test_card_thresholds_come_from_the_hub_config(store: Any) -> None:
    """With `min_group_count` 3 the same two questions make no card; the third viewer's makes one of 3."""
    seed_room(store)
    hub = Hub(store, pipeline=FakePipeline(), config=LiveConfig(board=BoardConfig(min_group_count=3)))
    await hub.start()
    host = Client()
    try:
        await connect(hub, "r1", "host", host)
        await hub.ingest("r1", comments("多少钱", "多少钱"))
        await hub.ingest("r1", comments("666", start=10))
        await host.wait_for(lambda c: hub.counters.get("analysed", 0) >= 3)  # all three went through the board
        assert not [c for c in hub.rooms["r1"].board.cards.values() if c.kind == "question_group"]
        assert not [m for m in host.of("cards") if not m["snapshot"]]
        await hub.ingest("r1", comments("多少钱", start=20))
        await host.wait_for(lambda c: any(not m["snapshot"] for m in c.of("cards")))
        card = [m for m in host.of("cards") if not m["snapshot"]][0]["cards"][0]
        assert (card["kind"], card["count"]) == ("question_group", 3)
    finally:
        await hub.stop()


async def test_talking_point_compliance_and_bot_answers(store: Any) -> None:
    """The answer stage adds a talking point, flags a banned term, and gives bots answers or hand-offs."""
    seed_room(store)
    hub = Hub(store, pipeline=FakePipeline(), answerer=FakeAnswerer(), compliance=FakeCompliance())
    await hub.start()
    host, bot = Client(), Client()
    try:
        await connect(hub, "r1", "host", host)
        await connect(hub, "r1", "bot", bot)
        await hub.ingest("r1", comments("多少钱", "多少钱", "是最好的吗", "是最好的吗", "什么时候发货"))
        await bot.wait_for(lambda c: c.of("answers"))
        answers = {a["question"]: a for a in bot.of("answers")[0]["answers"]}
        assert answers["多少钱"]["text"] == "商品p1 现在 10 元" and answers["多少钱"]["handoff"] is False
        assert answers["多少钱"]["sources"] == ["product:p1"]
        assert answers["什么时候发货"]["handoff"] is True
        await host.wait_for(lambda c: any(card["kind"] == "compliance_warning"
                                          for m in c.of("cards") for card in m["cards"]))
        cards = {card["id"]: card for m in host.of("cards") for card in m["cards"]}
        assert cards["group:g-price-多少钱"]["talking_point"] == "报价：10 元"
        warning = cards["compliance:g-product_info-是最好的吗"]
        assert warning["items"][0]["term"] == "最"
    finally:
        await hub.stop()


async def test_slow_subscriber_is_told_and_dropped_room_carries_on(store: Any) -> None:
    """A subscriber that never reads overflows its queue and is dropped; the fast one gets every card."""
    seed_room(store)
    hub = Hub(store, pipeline=FakePipeline(), config=LiveConfig(queue_size=2))
    await hub.start()
    slow, fast = Client(stuck=True), Client()
    try:
        slow_sub = await connect(hub, "r1", "host", slow)
        await connect(hub, "r1", "host", fast)
        for i in range(6):
            await hub.ingest("r1", comments(*(["多少钱"] * (i + 2)), start=100 * i))
            await fast.wait_for(lambda c, i=i: len([m for m in c.of("cards") if not m["snapshot"]]) > i)
        assert slow_sub.closing and slow_sub not in hub.rooms["r1"].subscribers["host"]
        assert hub.counters["dropped_subscribers"] == 1
        counts = [m["cards"][0]["count"] for m in fast.of("cards") if not m["snapshot"]]
        assert counts == sorted(counts) and len(counts) == 6
        await asyncio.sleep(2.2)  # the stuck writer is cut off after the grace period
        assert slow_sub.task is not None and slow_sub.task.done()
    finally:
        await hub.stop()


class BlockedPipeline(FakePipeline):
    """Holds the model thread until released, so the backlog fills."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def process(self, room: Any, comments: Any) -> Any:
        self.release.wait(5)
        return super().process(room, comments)


async def test_overload_is_refused_not_stored(store: Any) -> None:
    """Past max_backlog waiting comments, ingest raises OverloadedError and stores nothing."""
    seed_room(store)
    pipe = BlockedPipeline()
    hub = Hub(store, pipeline=pipe, config=LiveConfig(max_backlog=10, batch_max=4))
    await hub.start()
    try:
        await hub.ingest("r1", comments(*["a"] * 4))
        await asyncio.sleep(0.05)  # the analyzer takes those 4 and blocks
        await hub.ingest("r1", comments(*["b"] * 10, start=10))
        with pytest.raises(OverloadedError):
            await hub.ingest("r1", comments("c", start=50))
        assert store.count_comments("r1") == 14
        pipe.release.set()
    finally:
        pipe.release.set()
        await hub.stop()


async def test_since_replays_missed_comments_with_analysis(store: Any) -> None:
    """A subscriber reconnecting with since=<seq> gets exactly the comments after it, analysed."""
    seed_room(store)
    hub = Hub(store, pipeline=FakePipeline())
    await hub.start()
    try:
        stored = await hub.ingest("r1", comments("多少钱", "666", "链接"))
        await asyncio.sleep(0.2)
        client = Client()
        await connect(hub, "r1", "bot", client, since=stored[0].seq)
        await client.wait_for(lambda c: c.of("replay"))
        replay = client.of("replay")[0]
        assert [c["text"] for c in replay["comments"]] == ["666", "链接"]
        assert replay["done"] is True and replay["upto_seq"] == stored[-1].seq
        assert replay["comments"][1]["analysis"]["top_intent"] == "purchase"
    finally:
        await hub.stop()


async def test_without_pipeline_comments_are_stored_and_no_cards(store: Any) -> None:
    """With no pipeline, ingestion still stores and acknowledges; no card kind is produced."""
    seed_room(store)
    hub = Hub(store)
    await hub.start()
    host = Client()
    try:
        await connect(hub, "r1", "host", host)
        await hub.ingest("r1", comments("多少钱", "多少钱"))
        await asyncio.sleep(0.2)
        assert store.count_comments("r1") == 2
        assert [m for m in host.of("cards") if not m["snapshot"]] == []
    finally:
        await hub.stop()


async def test_on_stage_change_is_broadcast_and_pitch_next_follows(store: Any) -> None:
    """Switching the product on stage tells hosts and refreshes the pitch-next card."""
    seed_room(store)
    hub = Hub(store, pipeline=FakePipeline(), recommender=FakeRecommender())
    await hub.start()
    host = Client()
    try:
        await connect(hub, "r1", "host", host)
        await host.wait_for(lambda c: any(card["kind"] == "pitch_next" for m in c.of("cards") for card in m["cards"]))
        await hub.set_on_stage("r1", "p2")
        await host.wait_for(lambda c: c.of("room_state") and len([card for m in c.of("cards") for card in m["cards"]
                                                                  if card["kind"] == "pitch_next"]) == 2)
        assert host.of("room_state")[0]["on_stage"] == "p2"
        pitches = [card for m in host.of("cards") for card in m["cards"] if card["kind"] == "pitch_next"]
        assert [i["product_id"] for i in pitches[-1]["items"]] == ["p1", "p3"]
        with pytest.raises(ValueError):
            await hub.set_on_stage("r1", "p9")
    finally:
        await hub.stop()


async def test_demo_replay_streams_the_script_and_follows_its_scenes(store: Any) -> None:
    """The demo replay stores every scripted comment once and moves the product on stage scene by scene."""
    from api.live.replay import replay_demo
    from knowledge.demo import seed_demo

    seed_demo(store, n_users=50)
    hub = Hub(store, pipeline=FakePipeline())
    await hub.start()
    host = Client()
    try:
        await connect(hub, "demo", "host", host)
        sent = await replay_demo(hub, "demo", rounds=1, n=40, duration_s=0.4)
        assert sent == 40 and store.count_comments("demo") == 40
        lineup = store.get_room("demo")["lineup"]
        stages = [m["on_stage"] for m in host.of("room_state")]
        assert len(set(stages)) >= 3 and all(s in lineup for s in stages)
    finally:
        await hub.stop()
