"""Rooms over REST: create with a line-up, switch the product on stage, ingest comment batches,
answer one question on demand, read the live cards and the stored comments."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ServicesDep
from api.live import protocol as p
from api.live.auth import require
from api.live.hub import Hub
from api.live.room import card_model, public_comment
from api.live.subscriber import TokenBucket
from knowledge.errors import InvalidInputError, NotFoundError
from knowledge.room import RoomState

router = APIRouter(tags=["rooms"])

ID = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


class RoomCreate(BaseModel):
    """A room to create (or replace): its line-up in link order and the product on stage."""

    model_config = ConfigDict(extra="forbid")
    id: Annotated[str, ID]
    title: str = Field("", max_length=256)
    platform: str = Field("douyin", min_length=1, max_length=32)
    lineup: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=500)
    on_stage: str | None = Field(None, max_length=64)


class OnStage(BaseModel):
    """The product to put on stage (None takes it off)."""

    model_config = ConfigDict(extra="forbid")
    product_id: str | None = Field(None, max_length=64)


class RoomPublic(BaseModel):
    """A room as the API shows it."""

    id: str
    title: str
    platform: str
    lineup: list[str]
    on_stage: str | None
    last_seq: int = 0


class CommentBatch(BaseModel):
    """Comments to ingest (at most `MAX_BATCH`)."""

    model_config = ConfigDict(extra="forbid")
    comments: list[p.CommentPayload] = Field(min_length=1, max_length=p.MAX_BATCH)


class Ack(BaseModel):
    """Stored: `seqs[i]` is the sequence number of `comment_ids[i]`."""

    comment_ids: list[str]
    seqs: list[int]
    duplicates: int


class Question(BaseModel):
    """One question to answer now."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=2000)
    product_id: str | None = Field(None, max_length=64)


def _hub(services: Any) -> Hub:
    if services.live is None:
        raise HTTPException(503, detail="the live hub is not running")
    return services.live


def _public(room: dict[str, Any], last_seq: int = 0) -> RoomPublic:
    return RoomPublic(id=room["id"], title=room["title"], platform=room["platform"], lineup=list(room["lineup"]),
                      on_stage=room["on_stage"], last_seq=last_seq)


@router.post("/rooms", response_model=RoomPublic, status_code=201, dependencies=[require("host")])
async def create_room(body: RoomCreate, services: ServicesDep) -> RoomPublic:
    """Create or replace a room; every line-up product must exist, the one on stage must be in it."""
    store = services.store
    if len(set(body.lineup)) != len(body.lineup):
        raise InvalidInputError("the line-up lists a product twice")
    known = {r["id"] for r in await asyncio.to_thread(store.list_products, body.lineup)}
    missing = [pid for pid in body.lineup if pid not in known]
    if missing:
        raise NotFoundError(f"unknown products in the line-up: {missing[:10]}")
    if body.on_stage is not None and body.on_stage not in body.lineup:
        raise InvalidInputError(f"on_stage {body.on_stage!r} is not in the line-up")
    room = await asyncio.to_thread(store.upsert_room, body.id, body.title, body.platform, body.lineup, body.on_stage)
    hub = _hub(services)
    if body.id in hub.rooms:
        await hub.refresh_room(body.id)
    return _public(room, await asyncio.to_thread(store.last_comment_seq, body.id))


@router.get("/rooms", response_model=list[RoomPublic], dependencies=[require("host", "bot", "ingest")])
async def list_rooms(services: ServicesDep) -> list[RoomPublic]:
    """Every room."""
    return [_public(r) for r in await asyncio.to_thread(services.store.list_rooms)]


@router.get("/rooms/{room_id}", response_model=RoomPublic, dependencies=[require("host", "bot", "ingest")])
async def get_room(room_id: str, services: ServicesDep) -> RoomPublic:
    """One room, with the last comment sequence number stored in it."""
    room = await asyncio.to_thread(services.store.get_room, room_id)
    return _public(room, await asyncio.to_thread(services.store.last_comment_seq, room_id))


@router.get("/rooms/{room_id}/lineup", dependencies=[require("host", "bot")])
async def get_lineup(room_id: str, services: ServicesDep) -> dict[str, Any]:
    """The room with its line-up's products (id, title, price, stock, link number), for the pages."""
    state = await asyncio.to_thread(RoomState.load, services.store, room_id)
    return {"id": state.room_id, "title": state.title, "on_stage": state.on_stage,
            "lineup": [{"id": prod["id"], "title": prod["title"], "price": prod["price"], "stock": prod["stock"], "link": i}
                       for i, prod in enumerate(state.lineup, 1)]}


@router.put("/rooms/{room_id}/on-stage", response_model=RoomPublic, dependencies=[require("host")])
async def set_on_stage(room_id: str, body: OnStage, services: ServicesDep) -> RoomPublic:
    """Put a line-up product on stage; every teleprompter and bot of the room is told."""
    await _hub(services).set_on_stage(room_id, body.product_id)
    return _public(await asyncio.to_thread(services.store.get_room, room_id))


@router.post("/rooms/{room_id}/comments", response_model=Ack,
             responses={429: {"description": "the room's analysis backlog is full, or this key floods; retry"},
                        413: {"description": "body over `max_message_bytes` (counted as it streams in)"}})
async def post_comments(room_id: str, body: CommentBatch, services: ServicesDep,
                        role: str = require("ingest")) -> Ack:
    """Store a batch of comments (idempotent on comment id) and acknowledge with sequence numbers."""
    hub = _hub(services)
    bucket = services.extras.get(f"rest_bucket:{role}")  # one bucket per key role, made on first use
    if bucket is None:
        rate = services.settings.ingest_comments_per_s
        bucket = services.extras.setdefault(f"rest_bucket:{role}", TokenBucket(rate, 2 * rate))
    if not bucket.take(len(body.comments)):
        raise HTTPException(429, detail="too many comments from this key; slow down", headers={"Retry-After": "1"})
    stored = await hub.ingest(room_id, [c.to_comment_in() for c in body.comments])
    return Ack(comment_ids=[c.comment_id for c in stored], seqs=[c.seq for c in stored],
               duplicates=sum(not c.inserted for c in stored))


@router.get("/rooms/{room_id}/comments", dependencies=[require("host", "bot")])
async def list_comments(room_id: str, services: ServicesDep, since: Annotated[int, Query(ge=0)] = 0,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """Stored comments after `since`, with what was understood of them (the REST form of a replay)."""
    await asyncio.to_thread(services.store.get_room, room_id)
    rows = await asyncio.to_thread(services.store.comments_since, room_id, since, limit)
    return [public_comment(r) for r in rows]


@router.get("/rooms/{room_id}/cards", response_model=list[p.Card], dependencies=[require("host")])
async def list_cards(room_id: str, services: ServicesDep) -> list[p.Card]:
    """The room's live cards, biggest first."""
    live = await _hub(services).room(room_id)
    with live.lock:
        cards = live.board.live_cards()
    return [card_model(c) for c in cards]


@router.post("/rooms/{room_id}/cards/{card_id}/done", status_code=204, dependencies=[require("host")])
async def mark_done(room_id: str, card_id: str, services: ServicesDep) -> None:
    """Mark a card done for every host of the room."""
    hub = _hub(services)
    await hub.room(room_id)
    if not hub.mark_done(room_id, card_id):
        raise NotFoundError(f"no live card {card_id!r} in room {room_id!r}")


@router.post("/rooms/{room_id}/answer", response_model=p.AnswerItem, dependencies=[require("bot", "host")])
async def answer(room_id: str, body: Question, services: ServicesDep) -> p.AnswerItem:
    """Answer one question for the room (its on-stage product unless `product_id` says otherwise)."""
    return await _hub(services).ask(room_id, body.question, body.product_id)
