"""`POST /events`: the widget's batched events (recommendation impressions and clicks, add-to-cart,
purchases), with the widget key. Unknown products are stored and named back in `unknown_items`;
an empty `user_id` is an anonymous shopper; too many events in one batch is 413, a flood is 429."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ServicesDep
from api.widget_gate import check
from knowledge.events import EventStore

router = APIRouter(tags=["events"])


class EventIn(BaseModel):
    """One widget event."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["impression", "click", "add_to_cart", "purchase"]
    item_id: str = Field(min_length=1, max_length=64)
    user_id: str = Field("", max_length=128)
    room_id: str | None = Field(None, max_length=64)
    source: Literal["recommendations", "related"] | None = None
    ts: float | None = None
    quantity: float = Field(1.0, gt=0, le=1e6)


class EventBatch(BaseModel):
    """Events sent together (the widget batches a page's impressions)."""

    model_config = ConfigDict(extra="forbid")
    events: list[EventIn] = Field(min_length=1)


class EventsAck(BaseModel):
    """How many events were stored, and which products the catalogue does not know (stored anyway)."""

    stored: int
    unknown_items: list[str]


def events_of(services: Any) -> EventStore:
    """The app's event store."""
    found = services.extras.get("events")
    if found is None:
        found = services.extras.setdefault("events", EventStore(services.store))
    return found


@router.post("/events", response_model=EventsAck, status_code=202,
             responses={413: {"description": "more events than CUECARD_WIDGET_MAX_EVENTS in one batch"},
                        429: {"description": "too many calls from this key or client"}})
async def post_events(body: EventBatch, request: Request, services: ServicesDep) -> EventsAck:
    """Store a batch of widget events (widget, host or bot key; the widget key only from the shop's origins)."""
    limit = services.settings.widget_max_events
    if len(body.events) > limit:
        raise HTTPException(413, detail=f"at most {limit} events per batch, got {len(body.events)}")
    check(request, cost=max(1.0, len(body.events) / 50))  # a big batch costs more than a small one
    done = await asyncio.to_thread(events_of(services).add, [e.model_dump() for e in body.events])
    return EventsAck(stored=done.stored, unknown_items=done.unknown_items)
