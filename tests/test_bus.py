"""The room bus contract, run against the in-process bus (a shared broker standing in for several
instances) and a real redis-server; then two hubs on one bus: a comment ingested on one reaches a
host on the other, the room has one owner, and a take-over carries the counts on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from backends import Redis, redis_server
from live_fakes import FakePipeline, seed_room

from api.live.bus import Bus, BusUnavailableError, MemoryBroker, MemoryBus, RoomEvent, make_bus
from api.live.hub import Hub
from knowledge.store import CommentIn, Store

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def redis() -> Iterator[Redis]:
    """One redis-server for this module."""
    with redis_server() as server:
        yield server


@pytest.fixture(params=["memory", "redis"])
def make(request: pytest.FixtureRequest) -> Any:
    """A factory of buses that share rooms: one broker, or one Redis (flushed per test)."""
    if request.param == "memory":
        broker = MemoryBroker()
        return lambda lease_ms=400: MemoryBus(broker, lease_ms=lease_ms)
    server: Redis = request.getfixturevalue("redis")
    import redis as sync_redis

    sync_redis.Redis(port=server.port).flushall()
    return lambda lease_ms=400: make_bus(server.url, lease_ms=lease_ms)


class Inbox:
    """Records the events a bus hands over."""

    def __init__(self) -> None:
        self.events: list[tuple[str, RoomEvent]] = []

    def __call__(self, room_id: str, ev: RoomEvent) -> None:
        self.events.append((room_id, ev))

    async def until(self, n: int, timeout: float = 5.0) -> None:
        async def loop() -> None:
            while len(self.events) < n:
                await asyncio.sleep(0.01)
        await asyncio.wait_for(loop(), timeout)


@pytest.fixture
async def pair(make: Any) -> AsyncIterator[tuple[Bus, Inbox, Bus, Inbox]]:
    """Two started buses on one backend, each with an inbox."""
    a, b, ia, ib = make(), make(), Inbox(), Inbox()
    await a.start(ia)
    await b.start(ib)
    yield a, ia, b, ib
    await a.stop()
    await b.stop()


async def test_events_reach_every_watcher_in_order(pair: tuple[Bus, Inbox, Bus, Inbox]) -> None:
    """What A publishes, B (watching the room) receives, all of it, in publish order; other rooms stay out."""
    a, _, b, ib = pair
    await b.watch("r1")
    for i in range(50):
        a.publish("r1", RoomEvent("frame", roles=("host",), frame=f'{{"n":{i}}}'))
    a.publish("r2", RoomEvent("frame", frame="other room"))
    await ib.until(50)
    await asyncio.sleep(0.1)
    assert [json.loads(ev.frame)["n"] for _, ev in ib.events] == list(range(50))
    assert {room for room, _ in ib.events} == {"r1"} and ib.events[0][1].roles == ("host",)


async def test_one_owner_then_take_over_after_expiry(pair: tuple[Bus, Inbox, Bus, Inbox]) -> None:
    """Two claims at once: exactly one owner; it renews; once it stops renewing, the other takes the room."""
    a, _, b, _ = pair
    got = await asyncio.gather(a.claim("r1"), b.claim("r1"))
    assert sorted(got) == [False, True]
    owner, other = (a, b) if got[0] else (b, a)
    assert await owner.claim("r1") and not await other.claim("r1")
    await asyncio.sleep(owner.lease_ms / 1000 + 0.2)  # the owner "died": no renewal
    assert await other.claim("r1") and not await owner.claim("r1")
    await other.release("r1")
    assert await owner.claim("r1")


async def test_snapshot_is_shared(pair: tuple[Bus, Inbox, Bus, Inbox]) -> None:
    """The board snapshot A keeps is what B reads."""
    a, _, b, _ = pair
    assert await b.get_snapshot("r1") is None
    await a.set_snapshot("r1", '{"type":"cards"}')
    assert await b.get_snapshot("r1") == '{"type":"cards"}'


async def test_redis_down_at_start_is_a_clear_error() -> None:
    """A Redis URL nobody answers: start() raises BusUnavailableError naming the URL and the setting."""
    from servers import free_port

    bus = make_bus(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(BusUnavailableError, match="CUECARD_BUS_URL"):
        await bus.start(Inbox())


def test_unknown_scheme_is_refused() -> None:
    """A bus URL of an unknown scheme is refused with the setting's name."""
    with pytest.raises(BusUnavailableError, match="CUECARD_BUS_URL"):
        make_bus("kafka://x")


class Client:
    """A subscriber's far end that records frames."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.closed: int | None = None

    async def send(self, text: str) -> None:
        self.frames.append(json.loads(text))

    async def close(self, code: int, reason: str) -> None:
        self.closed = code

    def group_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.frames:
            if f["type"] == "cards":
                for c in f["cards"]:
                    if c["kind"] == "question_group":
                        counts[c["id"]] = c["count"]
        return counts

    async def until(self, pred: Any, timeout: float = 8.0) -> None:
        async def loop() -> None:
            while not pred(self):
                await asyncio.sleep(0.02)
        await asyncio.wait_for(loop(), timeout)


def batch(text: str, start: int, n: int) -> list[CommentIn]:
    return [CommentIn(comment_id=f"c{start + i}", text=text, user_id=f"u{start + i}", ts=0.0) for i in range(n)]


async def test_two_hubs_share_a_room_and_a_take_over_keeps_counts(make: Any, store: Store) -> None:
    """Comments ingested on hub A reach a host on hub B as cards; one hub owns the room; when the owner
    stops, the other takes over within the lease and the group's count carries on from the store."""
    seed_room(store)
    hubs = [Hub(store, pipeline=FakePipeline(), bus=make()), Hub(store, pipeline=FakePipeline(), bus=make())]
    for hub in hubs:
        await hub.start()
    try:
        await hubs[0].room("r1")  # first to load the room: its owner
        host = Client()
        sub, pre = await hubs[1].subscribe("r1", "host", host.send, host.close)
        sub.task = asyncio.create_task(sub.run(pre))
        assert [h.rooms["r1"].owner for h in hubs] == [True, False]
        await hubs[1].ingest("r1", batch("多少钱", 0, 3))
        await host.until(lambda c: 3 in c.group_counts().values())
        owner, other = hubs
        # The owner dies without releasing: its tasks stop, the lease is left to expire.
        owner._give_up(owner.rooms["r1"])
        owner.rooms.pop("r1")
        await other.ingest("r1", batch("多少钱", 3, 2))
        await host.until(lambda c: 5 in c.group_counts().values(), timeout=other.bus.lease_ms / 1000 + 5)
        assert other.rooms["r1"].owner
        assert store.count_comments("r1") == 5
    finally:
        for hub in hubs:
            await hub.stop()


async def test_redis_going_away_keeps_ingestion_and_tells_subscribers(store: Store) -> None:
    """redis-server killed mid-stream: ingestion still stores and acknowledges, and every subscriber
    is told (`bus_unavailable`, close 4503) so it reconnects with since=."""
    seed_room(store)
    with redis_server() as server:
        hub = Hub(store, pipeline=FakePipeline(), bus=make_bus(server.url, lease_ms=400))
        await hub.start()
        try:
            host = Client()
            sub, pre = await hub.subscribe("r1", "host", host.send, host.close)
            sub.task = asyncio.create_task(sub.run(pre))
            await hub.ingest("r1", batch("多少钱", 0, 3))
            await host.until(lambda c: 3 in c.group_counts().values())
            server.proc.kill()
            server.proc.wait(10)
            stored = await hub.ingest("r1", batch("多少钱", 3, 2))
            assert [c.inserted for c in stored] == [True, True] and store.count_comments("r1") == 5
            await host.until(lambda c: c.closed is not None, timeout=10)
            assert host.closed == 4503
            assert any(f["type"] == "error" and f["code"] == "bus_unavailable" for f in host.frames)
        finally:
            await hub.stop()
