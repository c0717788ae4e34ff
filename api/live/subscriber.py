"""One subscriber of a room: a bounded queue and a writer task, so a slow client never slows the room.

Broadcasts put pre-encoded frames with `offer()`, which never waits. When the queue is full the
subscriber is slow: its queue is emptied, it is told (`error` "slow_consumer") and closed with
`CloseCode.SLOW_CONSUMER`. If even that send hangs (the client stopped reading), the writer is
cancelled after `drop_grace_s` so the connection is torn down anyway.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from api.live.protocol import CloseCode, ErrorMsg, encode

Send = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]



class _CloseFrame:
    """Sentinel put in a queue: send `text` (if any), then close with `code`."""

    def __init__(self, code: int, reason: str, text: str | None) -> None:
        self.code, self.reason, self.text = code, reason, text


class Subscriber:
    """A connection that receives broadcasts of one room."""

    def __init__(self, room_id: str, role: str, send: Send, close: Close, queue_size: int = 256,
                 drop_grace_s: float = 2.0) -> None:
        self.room_id = room_id
        self.role = role
        self._send = send
        self._close = close
        self.queue: asyncio.Queue[str | _CloseFrame] = asyncio.Queue(maxsize=queue_size)
        self.drop_grace_s = drop_grace_s
        self.dropped = False
        self.closing = False
        self.task: asyncio.Task[None] | None = None

    def offer(self, frame: str) -> bool:
        """Queue a frame without waiting; a full queue drops this subscriber. False if not queued."""
        if self.closing:
            return False
        try:
            self.queue.put_nowait(frame)
            return True
        except asyncio.QueueFull:
            self.drop()
            return False

    def drop(self) -> None:
        """Tell this slow subscriber why, and close it; the room carries on without it."""
        if self.closing:
            return
        self.dropped = True
        size = self.queue.maxsize
        self._finish(CloseCode.SLOW_CONSUMER, "slow consumer", encode(ErrorMsg(
            code="slow_consumer", close=int(CloseCode.SLOW_CONSUMER),
            reason=f"more than {size} messages were waiting for this connection; reconnect with since=<last seq>")))
        if self.task is not None:
            # The writer may be stuck in a send to a client that stopped reading: cut it off.
            asyncio.get_running_loop().call_later(self.drop_grace_s, self._cancel_if_running)

    def close(self, code: int = CloseCode.NORMAL, reason: str = "", text: str | None = None) -> None:
        """Close after the frames already queued (and `text`, if given) are sent."""
        if self.closing:
            return
        self.closing = True
        try:
            self.queue.put_nowait(_CloseFrame(code, reason, text))
        except asyncio.QueueFull:
            self._finish(code, reason, text)

    def _finish(self, code: int, reason: str, text: str | None) -> None:
        self.closing = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(_CloseFrame(code, reason, text))

    def _cancel_if_running(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    async def run(self, preamble: AsyncIterator[str] | None = None) -> None:
        """Writer loop: send the preamble (hello, replay, snapshot), then queued frames, until closed."""
        try:
            if preamble is not None:
                async for frame in preamble:
                    await self._send(frame)
            while True:
                item = await self.queue.get()
                if isinstance(item, _CloseFrame):
                    if item.text is not None:
                        await self._send(item.text)
                    await self._close(item.code, item.reason)
                    return
                await self._send(item)
        except Exception:
            # The peer went away mid-send; the transport's own exception type varies
            # (Starlette's WebSocketDisconnect, RuntimeError, ConnectionError): the writer just ends.
            return


class TokenBucket:
    """Per-connection rate limit: `rate` tokens a second, bursts up to `burst`."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self, n: float = 1.0) -> bool:
        """Spend `n` tokens if there are enough; False means "over the limit"."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False
