"""Repeat-purchase routes: due items, the outreach list, segments, a shopper's profile, and deletion.

They reveal purchase histories, so reading needs the host key and deleting the admin key.
Answers are precomputed per shopper (`recsys.shoppers.ShopperService`); the first call after new
purchases refits, in the thread pool (sync routes).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

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
def profile(services: ServicesDep, user_id: UserId) -> dict[str, Any]:
    """A shopper's segment, churn risk, last purchases and due items (404 when unknown)."""
    return _shoppers(services).profile(user_id)


@router.delete("/users/{user_id}", dependencies=[require("admin")])
def forget(services: ServicesDep, user_id: UserId) -> dict[str, Any]:
    """Delete a shopper's purchases, platform mapping and events, and their live recommender rows, at once."""
    return {"user_id": user_id, "removed": _shoppers(services).forget(user_id)}
