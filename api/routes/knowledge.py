"""Knowledge gaps: the questions CueCard handed off, grouped per room, and closing one in one step.

`GET /knowledge/gaps` lists them (count, sample wordings, products, first and last seen), most
asked first; `POST /knowledge/gaps/{id}/answer` stores the host's written answer as an FAQ
document (searchable when the call returns) and marks the gap answered, so the next question of
the same frame or wording is answered from it. Both take a host (or admin) key. Errors come from
the exception tree (api/errors.py): unknown gap 404, answered twice 409, empty answer 422.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import ServicesDep
from api.live.auth import require
from knowledge.errors import ModelLoadError
from knowledge.gaps import MAX_ANSWER

router = APIRouter(tags=["knowledge"])


class GapPublic(BaseModel):
    """A knowledge gap as the API shows it."""

    id: int
    room_id: str | None
    representative: str
    count: int
    samples: list[str]
    products: list[str]
    first_ts: float
    last_ts: float
    status: str
    doc_id: str | None


class GapAnswer(BaseModel):
    """The answer a host writes for a gap (blank text is refused with 422 by the store)."""

    text: str = Field(max_length=MAX_ANSWER)


def _desk(services: Any) -> Any:
    desk = services.extras.get("gaps")
    if desk is None:
        raise ModelLoadError("this server keeps no knowledge gaps")
    return desk


@router.get("/knowledge/gaps", response_model=list[GapPublic], dependencies=[require("host")])
def list_gaps(services: ServicesDep, room_id: str | None = None,
              status: Literal["open", "answered"] | None = "open") -> list[dict[str, Any]]:
    """Gaps, most asked first, optionally one room's and one status's (default open)."""
    return _desk(services).gaps.list(room_id=room_id, status=status)  # type: ignore[no-any-return]


@router.post("/knowledge/gaps/{gap_id}/answer", response_model=GapPublic, dependencies=[require("host")])
def answer_gap(gap_id: int, body: GapAnswer, services: ServicesDep) -> dict[str, Any]:
    """Store the written answer as an FAQ document, indexed at once, and close the gap."""
    if services.kb is None:
        raise ModelLoadError("the knowledge base is not loaded")
    gap = _desk(services).gaps.answer(gap_id, body.text, services.kb)
    hub = services.live
    for live in list(getattr(hub, "rooms", {}).values()):  # cached hand-offs would hide the new answer
        answers = getattr(live, "answers", None)
        if answers is not None:
            answers.clear()
    return gap  # type: ignore[no-any-return]
