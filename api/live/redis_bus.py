"""The Redis room bus: one Redis Stream per room for its events, a key per room for its lease.

Streams, not pub/sub: every instance reads each watched room's stream from the entry it
last saw, so a short network hiccup or a slow reader loses nothing (the stream keeps the last
`maxlen` entries). Events are written by one sender task in publish order (XADD in a pipeline),
read by one reader task (XREAD BLOCK over every watched stream). The analysis lease is
`SET key me NX PX lease_ms`, renewed with a compare-and-PEXPIRE script; when its owner dies the
key expires and the next claim takes it.

If Redis goes away mid-stream, ingestion does not wait on it (comments are in the store and
acknowledged); the hub is told (`bus_down`) and closes its subscribers with a reason so they
reconnect with `since=` and miss nothing; the sender and reader retry until Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from api.live.bus import Bus, BusUnavailableError, EventHandler, RoomEvent

log = logging.getLogger("cuecard.bus")

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('pexpire', KEYS[1], ARGV[2]) return 1
end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisBus(Bus):
    """Rooms shared by every instance on one Redis."""

    shared = True

    def __init__(self, url: str, lease_ms: int = 2000, prefix: str = "cuecard", maxlen: int = 20000,
                 block_ms: int = 100) -> None:
        super().__init__()
        self.url = url
        self.lease_ms = lease_ms
        self.prefix = prefix
        self.maxlen = maxlen
        self.block_ms = block_ms
        self._redis: Any = None
        self._reader_redis: Any = None
        self._handler: EventHandler | None = None
        self._out: asyncio.Queue[tuple[str, RoomEvent]] = asyncio.Queue()
        self._positions: dict[str, str] = {}  # stream key → last id read
        self._tasks: list[asyncio.Task[None]] = []
        self.down = False

    def _key(self, room_id: str, what: str) -> str:
        return f"{self.prefix}:room:{room_id}:{what}"

    async def start(self, handler: EventHandler) -> None:
        """Connect and check Redis answers; BusUnavailableError with the URL if it does not."""
        self._handler = handler
        self._redis = aioredis.from_url(self.url, socket_timeout=2.0, socket_connect_timeout=2.0)
        # The reader blocks in XREAD: its own connection, so publishing never queues behind it.
        self._reader_redis = aioredis.from_url(self.url, socket_timeout=5.0, socket_connect_timeout=2.0)
        try:
            await self._redis.ping()
        except (RedisError, OSError) as exc:
            await self._close_clients()
            raise BusUnavailableError(
                f"cannot reach Redis at CUECARD_BUS_URL={self.url!r}: {exc}; start redis-server or unset "
                "CUECARD_BUS_URL for the one-process bus") from exc
        self._tasks = [asyncio.create_task(self._send_loop(), name="bus-send"),
                       asyncio.create_task(self._read_loop(), name="bus-read")]

    async def _close_clients(self) -> None:
        for client in (self._redis, self._reader_redis):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def stop(self) -> None:
        """Stop the tasks, release leases held, close the connections."""
        for task in self._tasks:
            task.cancel()
        # asyncio.wait, not `await task`: awaiting a cancelled task re-raises CancelledError into the
        # caller, which under anyio's test runner (and some lifespans) left the stop hanging.
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2.0)
        self._tasks = []
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._close_clients(), 2.0)

    def publish(self, room_id: str, event: RoomEvent) -> None:
        """Queue the event for the sender task (order kept); never waits."""
        self._out.put_nowait((room_id, event))

    async def watch(self, room_id: str) -> None:
        """Read the room's stream from its current end on."""
        key = self._key(room_id, "events")
        if key in self._positions:
            return
        try:
            last = await self._redis.xrevrange(key, count=1)
            self._positions[key] = last[0][0].decode() if last else "0-0"
        except (RedisError, OSError):
            self._positions[key] = "$"  # Redis is down: read what comes once it is back

    async def claim(self, room_id: str) -> bool:
        """Take or renew the lease (False as well when Redis cannot be reached: never two owners)."""
        try:
            got = await self._redis.eval(_RENEW, 1, self._key(room_id, "owner"), self.instance_id, self.lease_ms)
        except (RedisError, OSError):
            return False
        return bool(got)

    async def release(self, room_id: str) -> None:
        """Delete the lease key if it is still ours."""
        with contextlib.suppress(RedisError, OSError):
            await self._redis.eval(_RELEASE, 1, self._key(room_id, "owner"), self.instance_id)

    async def owner(self, room_id: str) -> str | None:
        """The instance id holding the room's lease, or None."""
        value = await self._redis.get(self._key(room_id, "owner"))
        return value.decode() if value else None

    async def set_snapshot(self, room_id: str, frame: str) -> None:
        """Keep the latest board snapshot in a key."""
        with contextlib.suppress(RedisError, OSError):
            await self._redis.set(self._key(room_id, "snapshot"), frame)

    async def get_snapshot(self, room_id: str) -> str | None:
        """The latest board snapshot, or None (also when Redis is down)."""
        try:
            value = await self._redis.get(self._key(room_id, "snapshot"))
        except (RedisError, OSError):
            return None
        return value.decode() if value else None

    def _tell(self, kind: str) -> None:
        if self._handler is None:
            return
        for key in list(self._positions):
            room_id = key[len(self.prefix) + len(":room:"):-len(":events")]
            self._handler(room_id, RoomEvent(kind))

    def _set_down(self, down: bool, exc: Exception | None = None) -> None:
        if down == self.down:
            return
        self.down = down
        if down:
            log.warning("Redis bus at %s unreachable (%s): ingestion carries on, subscribers are told", self.url, exc)
        else:
            log.warning("Redis bus at %s is back", self.url)
        self._tell("bus_down" if down else "bus_up")

    async def _send_loop(self) -> None:
        while True:
            batch = [await self._out.get()]
            while not self._out.empty() and len(batch) < 500:
                batch.append(self._out.get_nowait())
            try:
                pipe = self._redis.pipeline(transaction=False)
                for room_id, ev in batch:
                    pipe.xadd(self._key(room_id, "events"), _fields(ev), maxlen=self.maxlen, approximate=True)
                await pipe.execute()
                self._set_down(False)
            except (RedisError, OSError) as exc:
                # Events of an outage are not kept: subscribers are closed and resume from the store.
                self._set_down(True, exc)
                await asyncio.sleep(0.2)

    async def _read_loop(self) -> None:
        while True:
            if not self._positions:
                await asyncio.sleep(0.02)
                continue
            try:
                got = await self._reader_redis.xread(dict(self._positions), block=self.block_ms, count=1000)
                self._set_down(False)
            except (RedisError, OSError) as exc:
                self._set_down(True, exc)
                await asyncio.sleep(0.2)
                continue
            for key_raw, entries in got or ():
                key = key_raw.decode()
                room_id = key[len(self.prefix) + len(":room:"):-len(":events")]
                for entry_id, fields in entries:
                    self._positions[key] = entry_id.decode()
                    if self._handler is not None:
                        try:
                            self._handler(room_id, _event(fields))
                        except Exception:
                            log.exception("bus event handler failed in room %s", room_id)


def _fields(ev: RoomEvent) -> dict[str, str | int]:
    return {"k": ev.kind, "r": ",".join(ev.roles), "f": ev.frame, "s": ev.seq, "c": ev.card_id}


def _event(fields: dict[bytes, bytes]) -> RoomEvent:
    roles = fields.get(b"r", b"").decode()
    return RoomEvent(kind=fields[b"k"].decode(), roles=tuple(r for r in roles.split(",") if r),
                     frame=fields.get(b"f", b"").decode(), seq=int(fields.get(b"s", b"0")),
                     card_id=fields.get(b"c", b"").decode())
