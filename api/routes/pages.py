"""Pages served by the app: the host's teleprompter and the room dashboard (plain HTML/JS, no CDN).

The pages carry no data; they read the API key from their own URL (`?key=`) and use it on the
REST and WebSocket calls, which check it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

router = APIRouter(tags=["pages"])

STATIC = Path(__file__).resolve().parent.parent / "static"
ASSETS = {"live.css": "text/css", "live.js": "text/javascript", "teleprompter.js": "text/javascript",
          "dashboard.js": "text/javascript"}


@router.get("/teleprompter/{room_id}", include_in_schema=False)
def teleprompter_page(room_id: str) -> FileResponse:
    """The teleprompter of a room (open with `?key=<host key>`)."""
    return FileResponse(STATIC / "teleprompter.html", media_type="text/html")


@router.get("/dashboard/{room_id}", include_in_schema=False)
def dashboard_page(room_id: str) -> FileResponse:
    """The live dashboard of a room (open with `?key=<host key>`)."""
    return FileResponse(STATIC / "dashboard.html", media_type="text/html")


@router.get("/static/live/{name}", include_in_schema=False)
def live_asset(name: str) -> FileResponse:
    """A script or stylesheet of the live pages (a fixed list: no path reaches outside it)."""
    if name not in ASSETS:
        raise HTTPException(404, detail=f"no asset {name!r}")
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})
