"""WebSockets of a live room: `/comments` (ingest), `/teleprompter` (host), `/bot` (customer service).

Every connection: key checked first (close 4401/4403 after a typed `error`), room checked (4404),
then `hello`. Frames over `max_message_bytes` close with 1009; malformed or unknown messages get a
typed `error` and the connection lives on (20 in a row close it with 4422); a flood gets
`rate_limited` errors (and, if it keeps on, a close with 4429). docs/protocol.md has the details.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from api.errors import ws_close_code
from api.live import protocol as p
from api.live.auth import AuthError, check_ws
from api.live.hub import Hub
from api.live.subscriber import Subscriber, TokenBucket
from knowledge.errors import CueCardError, OverloadedError

router = APIRouter()

MAX_BAD_IN_A_ROW = 20
MAX_FLOOD_IN_A_ROW = 50


async def _refuse(ws: WebSocket, code: int, error: str, reason: str) -> None:
    """Accept only to say why, then close with a documented code (a refused handshake says nothing)."""
    await ws.accept()
    with contextlib.suppress(Exception):
        await ws.send_text(p.encode(p.ErrorMsg(code=error, reason=reason, close=code)))
        await ws.close(code, reason[:120])


async def _open(ws: WebSocket, room_id: str, *roles: str) -> tuple[Hub, str] | None:
    """Check the key and the room; None when the connection was refused."""
    hub: Hub | None = ws.app.state.services.live
    if hub is None:
        await _refuse(ws, p.CloseCode.INTERNAL_ERROR, "unavailable", "the live hub is not running")
        return None
    try:
        role = check_ws(ws, *roles)
    except AuthError as exc:
        code = p.CloseCode.UNAUTHORIZED if exc.status == 401 else p.CloseCode.FORBIDDEN
        await _refuse(ws, code, "unauthorized" if exc.status == 401 else "forbidden", str(exc))
        return None
    try:
        await hub.room(room_id)
    except CueCardError as exc:
        await _refuse(ws, ws_close_code(exc), "room_not_found", str(exc))
        return None
    return hub, role


class _Reader:
    """Inbound frames of one connection: size limit, rate limit, parsing, strikes."""

    def __init__(self, ws: WebSocket, role: str, reply: Any) -> None:
        settings = ws.app.state.services.settings
        self.ws, self.role, self.reply = ws, role, reply
        self.max_bytes = settings.max_message_bytes
        self.messages = TokenBucket(settings.ws_messages_per_s, 2 * settings.ws_messages_per_s)
        self.comments = TokenBucket(settings.ingest_comments_per_s, 2 * settings.ingest_comments_per_s)
        self.bad = self.flood = 0

    async def next(self) -> Any | None:
        """The next valid message, or None when the connection must close (already told why)."""
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            frame = message.get("text")
            if frame is None:
                frame = message.get("bytes") or b""
            if len(frame) > self.max_bytes:
                await self.reply(p.ErrorMsg(code="message_too_big", close=p.CloseCode.MESSAGE_TOO_BIG,
                                            reason=f"a frame of {len(frame)} bytes is over the {self.max_bytes}-byte limit"),
                                 close=p.CloseCode.MESSAGE_TOO_BIG)
                return None
            if not self.messages.take():
                self.flood += 1
                if self.flood >= MAX_FLOOD_IN_A_ROW:
                    await self.reply(p.ErrorMsg(code="rate_limited", close=p.CloseCode.RATE_LIMITED,
                                                reason="kept flooding after being told; closing"),
                                     close=p.CloseCode.RATE_LIMITED)
                    return None
                await self.reply(p.ErrorMsg(code="rate_limited", reason="too many messages; this one was dropped"))
                continue
            self.flood = 0
            try:
                msg = p.parse_inbound(self.role, frame)
            except p.ProtocolError as exc:
                self.bad += 1
                if self.bad >= MAX_BAD_IN_A_ROW:
                    await self.reply(p.ErrorMsg(code=exc.code, reason=f"{exc}; too many bad messages, closing",
                                                close=p.CloseCode.INVALID_MESSAGES), close=p.CloseCode.INVALID_MESSAGES)
                    return None
                await self.reply(p.ErrorMsg(code=exc.code, reason=str(exc)))
                continue
            self.bad = 0
            return msg


@router.websocket("/ws/rooms/{room_id}/comments")
async def ingest_ws(ws: WebSocket, room_id: str) -> None:
    """Ingest: comments in (one, a batch, or a JSON array per frame), `ack` with sequence numbers out."""
    opened = await _open(ws, room_id, "ingest")
    if opened is None:
        return
    hub, _role = opened
    await ws.accept()

    async def reply(msg: Any, close: int | None = None) -> None:
        await ws.send_text(p.encode(msg))
        if close is not None:
            await ws.close(close)

    live = await hub.room(room_id)
    await reply(p.HelloMsg(room_id=room_id, role="ingest", last_seq=live.last_seq, on_stage=live.state.on_stage,
                           lineup=live.state.lineup_ids, limits={"max_batch": p.MAX_BATCH}))
    reader = _Reader(ws, "ingest", reply)
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while (msg := await reader.next()) is not None:
            if isinstance(msg, p.PingMsg):
                await reply(p.PongMsg(id=msg.id))
                continue
            if isinstance(msg, p.RoomStatsMsg):  # issue 13: audience alerts
                try:
                    await hub.room_stats(room_id, msg)
                except CueCardError as exc:
                    await reply(p.ErrorMsg(code="invalid_room_stats", reason=str(exc)))
                continue
            payloads = [msg] if isinstance(msg, p.CommentMsg) else msg.comments
            if not reader.comments.take(len(payloads)):
                await reply(p.ErrorMsg(code="rate_limited", reason="too many comments per second; batch dropped"))
                continue
            try:
                stored = await hub.ingest(room_id, [c.to_comment_in() for c in payloads])
            except OverloadedError:
                await reply(p.OverloadedMsg(retry_after_ms=500, rejected=len(payloads)))
                continue
            except CueCardError as exc:
                await reply(p.ErrorMsg(code="rejected", reason=str(exc)))
                continue
            await reply(p.AckMsg(comment_ids=[c.comment_id for c in stored], seqs=[c.seq for c in stored],
                                 duplicates=sum(not c.inserted for c in stored)))


def _since(raw: str | None) -> int | None:
    """The `since` query value as a seq; ValueError when it is not a non-negative integer."""
    if raw is None:
        return None
    value = int(raw.strip())
    if value < 0:
        raise ValueError("negative")
    return value


async def _subscriber_ws(ws: WebSocket, room_id: str, role: str, since_raw: str | None) -> None:
    opened = await _open(ws, room_id, role)
    if opened is None:
        return
    hub, _ = opened
    await ws.accept()
    try:
        since = _since(since_raw)
    except ValueError:
        # As docs/protocol.md says: a malformed URL is closed with 1008 after the handshake
        # (a query type error during the handshake would have been a bare HTTP 403).
        await ws.close(code=1008, reason="since must be a non-negative integer")
        return
    sub, preamble = await hub.subscribe(room_id, role, ws.send_text, ws.close, since=since)

    async def reply(msg: Any, close: int | None = None) -> None:
        if close is not None:
            sub.close(close, "", p.encode(msg))
        else:
            sub.offer(p.encode(msg))

    writer = asyncio.create_task(sub.run(preamble))
    sub.task = writer
    reader = asyncio.create_task(_serve_inbound(hub, _Reader(ws, role, reply), sub, reply))
    try:
        done, _ = await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
        if reader in done and writer not in done and reader.exception() is None and reader.result():
            # The client was told to go: let the writer flush the error and the close frame.
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(writer), 1.0)
    finally:
        for task in (reader, writer):
            task.cancel()
        hub.unsubscribe(sub)


async def _serve_inbound(hub: Hub, reader: _Reader, sub: Subscriber, reply: Any) -> bool:
    """Handle inbound messages; True when we told the client to go (its writer sends the close)."""
    try:
        while (msg := await reader.next()) is not None:
            try:
                await _handle(hub, sub, msg, reply)
            except CueCardError as exc:
                await reply(p.ErrorMsg(code="rejected", reason=str(exc)))
    except (WebSocketDisconnect, RuntimeError):
        return False
    return True


async def _handle(hub: Hub, sub: Subscriber, msg: Any, reply: Any) -> None:
    if isinstance(msg, p.PingMsg):
        await reply(p.PongMsg(id=msg.id))
    elif isinstance(msg, p.MarkDoneMsg):
        if not hub.mark_done(sub.room_id, msg.card_id):
            await reply(p.ErrorMsg(code="not_found", reason=f"no live card {msg.card_id!r}"))
    elif isinstance(msg, p.SetOnStageMsg):
        await hub.set_on_stage(sub.room_id, msg.product_id)
    elif isinstance(msg, p.AskMsg):
        item = await hub.ask(sub.room_id, msg.question, msg.product_id)
        await reply(p.AnswerMsg(request_id=msg.request_id, answer=item))


@router.websocket("/ws/rooms/{room_id}/teleprompter")
async def teleprompter_ws(ws: WebSocket, room_id: str, since: str | None = None) -> None:
    """Host: `cards`, `card_done`, `room_state`, `stats` out; `mark_done`, `set_on_stage`, `ping` in."""
    await _subscriber_ws(ws, room_id, "host", since)


@router.websocket("/ws/rooms/{room_id}/bot")
async def bot_ws(ws: WebSocket, room_id: str, since: str | None = None) -> None:
    """Bot: `answers` for each answerable question out; `ask`, `ping` in."""
    await _subscriber_ws(ws, room_id, "bot", since)
