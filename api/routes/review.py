"""Shows and their review: start and end a show, send room statistics, read the review as JSON or a page.

`POST /rooms/{id}/shows` starts a show (ending the open one), `POST /rooms/{id}/shows/{show}/end`
ends it, `GET /rooms/{id}/shows/{show}/review` is the review (`show` may be `latest`), and
`/review/{room}/{show}?key=` is the same review as a page (the HTML `cuecard review` writes).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api import i18n
from api.deps import ServicesDep
from api.live.auth import require
from assistant.review import build_review
from assistant.review_report import Labels, render_html, suggestion_text
from knowledge.shows import ShowStore

router = APIRouter(tags=["shows"])


class ShowCreate(BaseModel):
    """A show to start (the title defaults to the room's)."""

    title: str = Field("", max_length=256)


class RoomStats(BaseModel):
    """Room statistics a platform reports during a show (viewers online, likes so far)."""

    viewers: int = Field(ge=0)
    likes: int | None = Field(None, ge=0)
    ts: float | None = None


def shows_of(services: Any) -> ShowStore:
    """The app's show store."""
    found = services.extras.get("shows")
    if found is None:
        found = services.extras.setdefault("shows", ShowStore(services.store))
    return found


def _recorder(services: Any) -> Any:
    return getattr(services.live, "shows", None) if services.live is not None else None


@router.post("/rooms/{room_id}/shows", status_code=201, dependencies=[require("host")])
async def start_show(room_id: str, services: ServicesDep, body: ShowCreate | None = None) -> dict[str, Any]:
    """Start a show now (an open one ends first); 404 for an unknown room."""
    recorder = _recorder(services)
    if recorder is not None:
        await asyncio.to_thread(recorder.flush, True)
    show = await asyncio.to_thread(shows_of(services).start, room_id, title=(body.title if body else ""))
    if recorder is not None:
        recorder.started(show)
    return show


@router.get("/rooms/{room_id}/shows", dependencies=[require("host")])
async def list_shows(room_id: str, services: ServicesDep) -> list[dict[str, Any]]:
    """A room's shows, newest first."""
    return await asyncio.to_thread(shows_of(services).list_shows, room_id)


@router.post("/rooms/{room_id}/shows/{show_id}/end", dependencies=[require("host")])
async def end_show(room_id: str, show_id: str, services: ServicesDep) -> dict[str, Any]:
    """End a show (ending an ended show changes nothing); 404 for an unknown room or show."""
    store = shows_of(services)
    if show_id == "latest":
        show_id = (await asyncio.to_thread(store.latest, room_id))["id"]
    recorder = _recorder(services)
    if recorder is not None:
        await asyncio.to_thread(recorder.ended, room_id, show_id)
    return await asyncio.to_thread(store.end, room_id, show_id)


@router.post("/rooms/{room_id}/stats", status_code=202, dependencies=[require("ingest", "host")])
async def room_stats(room_id: str, body: RoomStats, services: ServicesDep) -> dict[str, Any]:
    """Record viewers online (and likes) for the open show's viewer curve; `recorded` False without one."""
    await asyncio.to_thread(services.store.get_room, room_id)
    recorder = _recorder(services)
    show = recorder.show_of(room_id) if recorder is not None else None
    if recorder is not None and show is not None:
        recorder.record(room_id, "room_stats", {"viewers": body.viewers, "likes": body.likes}, now=body.ts)
    return {"recorded": show is not None, "show_id": show}


async def _review(room_id: str, show_id: str, services: Any) -> dict[str, Any]:
    recorder = _recorder(services)
    if recorder is not None:
        await asyncio.to_thread(recorder.flush, True)
    return await asyncio.to_thread(build_review, services.store, shows_of(services), services.extras.get("events"),
                                   room_id, None if show_id == "latest" else show_id)


@router.get("/rooms/{room_id}/shows/{show_id}/review", dependencies=[require("host")])
async def get_review(room_id: str, show_id: str, services: ServicesDep, request: Request,
                     lang: Annotated[str | None, Query(max_length=16)] = None) -> dict[str, Any]:
    """The review of a show as JSON (suggestion texts in `?lang=`, else the browser's language)."""
    review = await _review(room_id, show_id, services)
    chosen = i18n.choose(lang, request.headers.get("accept-language"))
    t = Labels(i18n.labels(chosen))
    for s in review["suggestions"]:
        s["text"] = suggestion_text(s, t)
    review["lang"] = chosen
    return review


@router.get("/review/{room_id}/{show_id}", include_in_schema=False, dependencies=[require("host")])
async def review_page(room_id: str, show_id: str, services: ServicesDep, request: Request) -> HTMLResponse:
    """The review page (open with `?key=<host key>`; `?lang=en` for English)."""
    review = await _review(room_id, show_id, services)
    lang = i18n.choose(request.query_params.get("lang"), request.headers.get("accept-language"))
    return HTMLResponse(render_html(review, i18n.labels(lang), lang), headers={"Content-Language": lang})
