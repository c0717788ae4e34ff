"""Pages served by the app: the host's teleprompter and the room dashboard (plain HTML/JS, no CDN).

The pages carry no data; they read the API key from their own URL (`?key=`) and use it on the
REST and WebSocket calls, which check it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from api import i18n

router = APIRouter(tags=["pages"])

STATIC = Path(__file__).resolve().parent.parent / "static"
ASSETS = {"live.css": "text/css", "live.js": "text/javascript", "teleprompter.js": "text/javascript",
          "dashboard.js": "text/javascript", "i18n.js": "text/javascript",
          "segments.js": "text/javascript", "returning.js": "text/javascript",
          "tickets.js": "text/javascript",  # issue 13
          "gaps.js": "text/javascript"}  # issue 11


def page(name: str, request: Request) -> HTMLResponse:
    """A page in the request's language (`?lang=`, else Accept-Language, else zh-CN), labels inlined."""
    lang = i18n.choose(request.query_params.get("lang"), request.headers.get("accept-language"))
    html = (STATIC / name).read_text(encoding="utf-8")
    return HTMLResponse(i18n.render(html, lang), headers={"Cache-Control": "no-cache", "Content-Language": lang})


@router.get("/teleprompter/{room_id}", include_in_schema=False)
def teleprompter_page(room_id: str, request: Request) -> HTMLResponse:
    """The teleprompter of a room (open with `?key=<host key>`)."""
    return page("teleprompter.html", request)


@router.get("/dashboard/{room_id}", include_in_schema=False)
def dashboard_page(room_id: str, request: Request) -> HTMLResponse:
    """The live dashboard of a room (open with `?key=<host key>`)."""
    return page("dashboard.html", request)


@router.get("/static/live/{name}", include_in_schema=False)
def live_asset(name: str) -> FileResponse:
    """A script or stylesheet of the live pages (a fixed list: no path reaches outside it)."""
    if name not in ASSETS:
        raise HTTPException(404, detail=f"no asset {name!r}")
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})


@router.get("/static/i18n/{lang}.json", include_in_schema=False)
def i18n_labels(lang: str) -> FileResponse:
    """The labels of one language (`zh-CN` or `en`), for pages and the widget."""
    if lang not in i18n.LANGUAGES:
        raise HTTPException(404, detail=f"no labels for {lang!r}; known: {', '.join(i18n.LANGUAGES)}")
    return FileResponse(STATIC / "i18n" / f"{lang}.json", media_type="application/json",
                        headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"})
