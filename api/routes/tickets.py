"""Complaint tickets: `GET /tickets` (filter by room / status), `PATCH /tickets/{id}`, `GET /tickets/report`.

A PATCH may carry the `version` it read: when another host changed the ticket since, the answer is
409 and nothing is applied (of two hosts resolving at once, exactly one wins; the other reloads).
An unknown status is 422 naming the allowed ones; an unknown id 404.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import ServicesDep
from api.live.auth import require
from knowledge.errors import UnavailableError

router = APIRouter(tags=["tickets"])


class TicketUpdate(BaseModel):
    """What a host may change on a ticket; `version` turns on the stale-write check."""

    status: str | None = Field(None, max_length=40)
    owner: str | None = Field(None, max_length=200)
    notes: str | None = Field(None, max_length=4000)
    version: int | None = Field(None, ge=1)


def _desk(services: Any) -> Any:
    desk = getattr(services.live, "tickets", None)
    if desk is None:
        raise UnavailableError("tickets are not enabled on this server")
    return desk


@router.get("/tickets", dependencies=[require("host")])
async def list_tickets(services: ServicesDep, room_id: Annotated[str | None, Query(max_length=200)] = None,
                       status: Annotated[str | None, Query(max_length=40)] = None) -> dict[str, Any]:
    """Tickets newest first, with level, status, deadline and red-amber-green computed now."""
    desk = _desk(services)
    return {"tickets": await asyncio.to_thread(desk.find, room_id, status)}


@router.get("/tickets/report", dependencies=[require("host")])
async def ticket_report(services: ServicesDep) -> dict[str, Any]:
    """On-time rate per room and per day, and products flagged for repeated complaints."""
    return await asyncio.to_thread(_desk(services).report)


@router.patch("/tickets/{ticket_id}", dependencies=[require("host")])
async def update_ticket(ticket_id: int, body: TicketUpdate, services: ServicesDep) -> dict[str, Any]:
    """Set status (open / acknowledged / resolved), owner or notes; 409 on a stale version."""
    desk = _desk(services)
    fields = body.model_dump(exclude_none=True)
    return await asyncio.to_thread(lambda: desk.update(ticket_id, **fields))
