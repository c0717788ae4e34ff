"""The room bus: how the instances serving one room share its events and agree on who analyses it.

    instance A ─ingest─► store (commit) ─► bus "comments upto=N" ─► owner pulls from the store, analyses
    owner ─► bus "frame" (cards, answers, stats, room_state) ─► every instance ─► its own subscribers
    any instance ─► bus "mark_done" / "state" ─► the owner applies it (and broadcasts the outcome)

One room has one owner at a time, holding a lease it renews; when the owner dies the lease
expires and another instance claims it and rebuilds the room's live state from the store.
`MemoryBus` is one process (today's behaviour: the hub then skips the bus and delivers
directly); several `MemoryBus` sharing one `MemoryBroker` behave like instances on one Redis,
for contract tests. `RedisBus` (api/live/redis_bus.py) is the real shared one. `make_bus(url)`
picks the backend from the URL's scheme, as encode/broadcaster does.
"""

from __future__ import annotations

import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from knowledge.errors import UnavailableError


class BusUnavailableError(UnavailableError):
    """The configured bus (Redis) cannot be reached; the message names the URL and the setting."""


@dataclass(frozen=True)
class RoomEvent:
    """One event on a room's bus: a frame for local subscribers, or a note for the owner."""

    kind: str  # frame | comments | mark_done | state | bus_down | bus_up
    roles: tuple[str, ...] = ()  # frame: who receives it ("host", "bot")
    frame: str = ""  # frame: the encoded protocol message, sent as is
    seq: int = 0  # comments: the highest stored seq the sender knows of
    card_id: str = ""  # mark_done: which card


EventHandler = Callable[[str, RoomEvent], None]


class Bus(ABC):
    """The seam: publish and receive a room's events in order; lease a room's analysis."""

    shared: bool = False  # True when other processes may serve the same rooms
    lease_ms: int = 2000

    def __init__(self) -> None:
        self.instance_id = uuid.uuid4().hex[:12]

    @abstractmethod
    async def start(self, handler: EventHandler) -> None:
        """Connect (BusUnavailableError if the backend cannot be reached) and deliver events to `handler`."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop receiving and release what this instance holds."""

    @abstractmethod
    def publish(self, room_id: str, event: RoomEvent) -> None:
        """Queue `event` for every instance watching the room, in publish order; never waits."""

    @abstractmethod
    async def watch(self, room_id: str) -> None:
        """Start receiving the room's events published from now on."""

    @abstractmethod
    async def claim(self, room_id: str) -> bool:
        """Take or renew the room's analysis lease; True when this instance owns it now."""

    @abstractmethod
    async def release(self, room_id: str) -> None:
        """Give the lease up (if held), so another instance can claim it at once."""

    @abstractmethod
    async def set_snapshot(self, room_id: str, frame: str) -> None:
        """Keep the room's latest board snapshot (a `cards` frame) for subscribers joining elsewhere."""

    @abstractmethod
    async def get_snapshot(self, room_id: str) -> str | None:
        """The latest board snapshot the owner kept, or None."""


class MemoryBroker:
    """What several in-process buses share: handlers per room, leases, snapshots."""

    def __init__(self) -> None:
        self.watchers: dict[str, list[MemoryBus]] = {}
        self.leases: dict[str, tuple[str, float]] = {}
        self.snapshots: dict[str, str] = {}


class MemoryBus(Bus):
    """The in-process bus; with a shared `MemoryBroker`, a stand-in for several instances."""

    def __init__(self, broker: MemoryBroker | None = None, lease_ms: int = 2000) -> None:
        super().__init__()
        self.shared = broker is not None
        self.broker = broker or MemoryBroker()
        self.lease_ms = lease_ms
        self._handler: EventHandler | None = None

    async def start(self, handler: EventHandler) -> None:
        """Remember the handler (nothing to connect to)."""
        self._handler = handler

    async def stop(self) -> None:
        """Stop receiving; drop this instance's leases."""
        for watchers in self.broker.watchers.values():
            if self in watchers:
                watchers.remove(self)
        for room_id, (owner, _) in list(self.broker.leases.items()):
            if owner == self.instance_id:
                del self.broker.leases[room_id]
        self._handler = None

    def publish(self, room_id: str, event: RoomEvent) -> None:
        """Hand the event to every watching bus's handler, now and in order."""
        for bus in list(self.broker.watchers.get(room_id, ())):
            if bus._handler is not None:
                bus._handler(room_id, event)

    async def watch(self, room_id: str) -> None:
        """Receive the room's events from now on."""
        watchers = self.broker.watchers.setdefault(room_id, [])
        if self not in watchers:
            watchers.append(self)

    async def claim(self, room_id: str) -> bool:
        """Take the lease if free or expired, renew it if ours."""
        now = time.monotonic()
        owner = self.broker.leases.get(room_id)
        if owner is None or owner[0] == self.instance_id or owner[1] <= now:
            self.broker.leases[room_id] = (self.instance_id, now + self.lease_ms / 1000)
            return True
        return False

    async def release(self, room_id: str) -> None:
        """Drop the lease if ours."""
        if self.broker.leases.get(room_id, ("", 0.0))[0] == self.instance_id:
            del self.broker.leases[room_id]

    async def set_snapshot(self, room_id: str, frame: str) -> None:
        """Keep the snapshot in the broker."""
        self.broker.snapshots[room_id] = frame

    async def get_snapshot(self, room_id: str) -> str | None:
        """The snapshot kept in the broker."""
        return self.broker.snapshots.get(room_id)


def make_bus(url: str | None, lease_ms: int = 2000) -> Bus:
    """The bus a URL names: unset or `memory://` is one process, `redis://…` the Redis bus."""
    if not url or url.startswith("memory:"):
        return MemoryBus(lease_ms=lease_ms)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from api.live.redis_bus import RedisBus

        return RedisBus(url, lease_ms=lease_ms)
    raise BusUnavailableError(f"CUECARD_BUS_URL={url!r}: unknown scheme (use memory:// or redis://host:port/db)")
