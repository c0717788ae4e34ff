"""Recommendations for storefront widgets, purchases in batches, model reload, and the embeddable widget.

`GET /recommendations` and `GET /products/{id}/related` take the publishable widget key (or a
host/bot key), only from the shop's origins and rate-limited (api/widget_gate.py); `POST /purchases` needs an ingest key; model reload and
retraining need the admin key. Model work runs in FastAPI's thread pool (sync routes); the one
exception is `GET /recommendations` without a room while the catalogue is cached, a sub-millisecond
numpy call that costs less inline than a thread hop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ServicesDep
from api.live.auth import require
from api.widget_gate import widget_access
from knowledge.errors import ModelLoadError
from knowledge.room import RoomState
from recsys.service import Recommendation, RecommendationService

router = APIRouter(tags=["recommendations"])

STATIC = Path(__file__).resolve().parent.parent / "static"
MAX_BATCH = 10_000


class RecommendationPublic(BaseModel):
    """One recommended item with the reason to show and its catalogue row (None when unknown)."""

    item_id: str
    score: float
    reason: str
    product: dict[str, Any] | None = None


class RecommendationList(BaseModel):
    """A widget's list, and how it was made."""

    user_id: str | None
    room_id: str | None
    fallback: str | None = Field(None, description="'popular' when the user is unknown to the model")
    model_version: str | None
    items: list[RecommendationPublic]


class PurchaseIn(BaseModel):
    """One purchase line."""

    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=128)
    item_id: str = Field(min_length=1, max_length=64)
    basket_id: str | None = Field(None, max_length=128)
    order_no: int | None = Field(None, ge=0, le=2**63 - 1)  # SQLite INTEGER is 64-bit (the live fuzz test found it)
    ts: float | None = None
    quantity: float = Field(1.0, gt=0, le=1e6)
    room_id: str | None = Field(None, max_length=64)


class PurchaseBatch(BaseModel):
    """A batch of purchase lines (at most 10,000)."""

    model_config = ConfigDict(extra="forbid")
    purchases: list[PurchaseIn] = Field(min_length=1, max_length=MAX_BATCH)


def _service(services: Any) -> RecommendationService:
    if services.recommender is None:
        raise ModelLoadError("the recommender is not running on this server")
    return services.recommender


def _listing(user_id: str | None, room_id: str | None, fallback: str | None, version: str | None,
             recs: list[Recommendation]) -> JSONResponse:
    """The `RecommendationList` as JSON, built directly: re-validating our own output would double the cost."""
    items = [{"item_id": r.item_id, "score": r.score, "reason": r.reason, "product": r.product} for r in recs]
    return JSONResponse({"user_id": user_id, "room_id": room_id, "fallback": fallback, "model_version": version,
                         "items": items})


def room_interest(services: Any, room_id: str) -> dict[str, float]:
    """Product id → how many comments in the room's live question groups mention it."""
    interest: dict[str, float] = {}
    pipeline = services.pipeline
    if pipeline is None:
        return interest
    for group in pipeline.groups(room_id):
        for pid in group.product_ids:
            interest[pid] = interest.get(pid, 0.0) + float(group.count)
    return interest


@router.get("/recommendations", response_model=RecommendationList, dependencies=[widget_access()])
async def recommendations(user_id: Annotated[str | None, Query(max_length=128)] = None,
                          room_id: Annotated[str | None, Query(max_length=64)] = None,
                          k: int = 10, *, services: ServicesDep) -> JSONResponse:
    """A viewer's recommendations, re-ranked by the room when `room_id` is given (popularity for new users)."""
    service = _service(services)

    def answer() -> JSONResponse:
        room = RoomState.load(services.store, room_id) if room_id else None
        interest = room_interest(services, room_id) if room_id else None
        model = service.model
        known = bool(user_id) and model is not None and model.knows_user(user_id or "")
        recs = service.recommend(user_id or "", k=k, room=room, room_interest=interest)
        return _listing(user_id, room_id, None if known else "popular", service.version, recs)

    if room_id or not service.catalog_fresh():
        return await run_in_threadpool(answer)  # reads the room or the catalogue from the store: off the loop
    # Otherwise the answer is a sub-millisecond numpy call: cheaper inline than the hop to a worker
    # thread and back, whose GIL hand-offs dominate latency under load (bench/recs_serving.py).
    return answer()


@router.get("/products/{product_id}/related", response_model=RecommendationList, dependencies=[widget_access()])
def related(services: ServicesDep, product_id: str, k: int = 10) -> JSONResponse:
    """Items bought together with a product (its category's best sellers when the model never saw it)."""
    service = _service(services)
    return _listing(None, None, None, service.version, service.related(product_id, k=k))


@router.post("/purchases", status_code=201, dependencies=[require("ingest")])
def add_purchases(services: ServicesDep, batch: PurchaseBatch) -> dict[str, int]:
    """Store a batch of purchases; each buyer's recommendations reflect it at once (no retrain)."""
    rows = [p.model_dump() for p in batch.purchases]
    if services.recommender is None:
        return {"stored": services.store.add_purchases(rows), "users": 0, "known_items": 0}
    return services.recommender.add_purchases(rows)


@router.post("/recommendations/model/reload", dependencies=[require("admin")])
def reload_model(services: ServicesDep) -> dict[str, str | None]:
    """Swap in the store's active model version (after `cuecard recsys train`), without downtime."""
    return {"version": _service(services).reload()}


@router.post("/recommendations/model/train", dependencies=[require("admin")])
def train_model(services: ServicesDep) -> dict[str, str | None]:
    """Retrain on the store's purchases and swap the new model in; requests keep being served meanwhile."""
    return {"version": _service(services).train()}


@router.get("/static/widget.js", include_in_schema=False)
def widget_script() -> FileResponse:
    """The embeddable widget: `<script src=".../static/widget.js" data-user="…" data-room="…">`."""
    return FileResponse(STATIC / "widget.js", media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=300"})


@router.get("/widget/demo", include_in_schema=False)
def widget_demo() -> FileResponse:
    """A page that embeds the widget (`?user=…&room=…&k=…`)."""
    return FileResponse(STATIC / "widget_demo.html", media_type="text/html")
