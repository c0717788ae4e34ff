"""Repeat-purchase routes: due items, the outreach list, segments, a shopper's profile, and deletion.

They reveal purchase histories, so reading needs the host key and deleting the admin key.
Answers are precomputed per shopper (`recsys.shoppers.ShopperService`); the first call after new
purchases refits, in the thread pool (sync routes).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ServicesDep
from api.live.auth import require
from knowledge.errors import ModelLoadError
from recsys.shoppers import ShopperService

router = APIRouter(tags=["shoppers"])
UserId = Annotated[str, Path(min_length=1, max_length=128)]


def _shoppers(services: Any) -> ShopperService:
    found = services.extras.get("shoppers")
    if found is None:
        raise ModelLoadError("repeat-purchase signals are not running on this server")
    return found


@router.get("/users/{user_id}/due", dependencies=[require("host")])
def user_due(services: ServicesDep, user_id: UserId,
             within_days: Annotated[float, Query(ge=0, le=3650)] = 7.0) -> dict[str, Any]:
    """A shopper's consumables due within `within_days` (orders for an order-numbered history)."""
    return _shoppers(services).due(user_id, within_days)


@router.get("/replenishment", dependencies=[require("host")])
def replenishment(services: ServicesDep, within_days: Annotated[float, Query(ge=0, le=3650)] = 7.0,
                  limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> dict[str, Any]:
    """The outreach list: shopper, item, due date and confidence, soonest first."""
    return _shoppers(services).due(None, within_days, limit)


@router.get("/segments", dependencies=[require("host")])
def segments(services: ServicesDep) -> dict[str, Any]:
    """Shoppers per RFM segment and churn risk, the thresholds, and the shoppers most at risk."""
    return _shoppers(services).segments()


@router.get("/users/{user_id}/profile", dependencies=[require("host")])
async def profile(services: ServicesDep, user_id: UserId) -> dict[str, Any]:
    """A shopper's segment, churn risk, last purchases and due items (404 when unknown)."""
    shoppers = _shoppers(services)
    if shoppers.fresh():  # a dict lookup: cheaper inline than the hop to a worker thread
        return shoppers.profile(user_id)
    return await run_in_threadpool(shoppers.profile, user_id)  # reads the store, maybe refits: off the loop


@router.delete("/users/{user_id}", dependencies=[require("admin")])
def forget(services: ServicesDep, user_id: UserId) -> dict[str, Any]:
    """Delete a shopper's purchases, platform mapping and events, and their live recommender rows, at once."""
    removed = _shoppers(services).forget(user_id)
    returning = services.extras.get("returning")
    if returning is not None:
        removed["shopper_links"] = removed.get("shopper_links", 0) + returning.forget(user_id)
    return {"user_id": user_id, "removed": removed}


class LinkIn(BaseModel):
    """A platform viewer known as a shop user."""

    model_config = ConfigDict(extra="forbid")
    platform: str = Field(min_length=1, max_length=32)
    platform_user_id: str = Field(min_length=1, max_length=128)
    user_id: str = Field(min_length=1, max_length=128)


class LinkBatch(BaseModel):
    """At most 10,000 links."""

    model_config = ConfigDict(extra="forbid")
    links: list[LinkIn] = Field(min_length=1, max_length=10_000)


class Switch(BaseModel):
    """Whether a room shows returning-buyer cards."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool


def _returning(services: Any) -> Any:
    found = services.extras.get("returning")
    if found is None:
        raise ModelLoadError("returning-buyer cards are not running on this server")
    return found


@router.post("/shopper-links", status_code=201, dependencies=[require("ingest")])
def add_links(services: ServicesDep, batch: LinkBatch) -> dict[str, int]:
    """Store platform user → shop user links (a newer link for a viewer replaces the older)."""
    return {"stored": _returning(services).link(link.model_dump() for link in batch.links)}


@router.put("/returning-buyers/{room_id}", dependencies=[require("host")])
def switch_room(services: ServicesDep, room_id: Annotated[str, Path(min_length=1, max_length=64)],
                body: Switch) -> dict[str, Any]:
    """Switch a room's returning-buyer cards on or off (off by default)."""
    return {"room_id": room_id, "enabled": _returning(services).set_enabled(room_id, body.enabled)}


@router.get("/returning-buyers/{room_id}", dependencies=[require("host")])
def room_switch(services: ServicesDep, room_id: Annotated[str, Path(min_length=1, max_length=64)]) -> dict[str, Any]:
    """Whether a room shows returning-buyer cards."""
    return {"room_id": room_id, "enabled": _returning(services).enabled(room_id)}
