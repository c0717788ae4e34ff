"""Routes for comment understanding: classify a batch of texts, see a room's question groups, and
swap in a retrained model (admin)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.live.auth import require
from assistant.groups import QuestionGroup
from assistant.normalize import normalize
from knowledge.errors import ModelLoadError, NotFoundError

# Every route needs a key: classification costs model time, and groups reveal a room's comments.
router = APIRouter(prefix="/intents", tags=["intents"], dependencies=[require("ingest", "host", "bot")])
MAX_BATCH = 1000


class ClassifyRequest(BaseModel):
    """Comments to classify (up to 1,000 in one call)."""

    texts: list[str] = Field(min_length=1, max_length=MAX_BATCH)


class IntentPublic(BaseModel):
    """One comment's labels over their thresholds (with scores) and its top label."""

    text: str
    normalized: str
    top_intent: str
    intents: dict[str, float]
    source: str  # "fast" | "model" | "rejected"


def _pipeline(services: ServicesDep):  # type: ignore[no-untyped-def]
    if services.pipeline is None:
        raise ModelLoadError("comment understanding is not loaded in this server")
    return services.pipeline


@router.post("/classify", response_model=list[IntentPublic])
async def classify(body: ClassifyRequest, services: ServicesDep) -> list[IntentPublic]:
    """Classify comments in one batch (one encoder call), off the event loop."""
    pipeline = _pipeline(services)
    preds = await run_in_threadpool(pipeline.classifier.classify, body.texts)
    return [IntentPublic(text=t, normalized=normalize(t) if p.source != "rejected" else "", top_intent=p.top,
                         intents=p.intents, source=p.source) for t, p in zip(body.texts, preds, strict=True)]


@router.get("/labels", response_model=dict)
async def labels(services: ServicesDep) -> dict[str, object]:
    """The labels the active model knows and its version."""
    pipeline = _pipeline(services)
    return {"labels": pipeline.classifier.labels, "version": pipeline.classifier.version}


@router.get("/groups/{room_id}", response_model=list[QuestionGroup])
def groups(room_id: str, services: ServicesDep, now: float | None = None) -> list[QuestionGroup]:
    """A room's live question groups, biggest first (`now` in stream seconds; default: latest comment).

    A plain `def`: expiring and sorting the groups runs in the thread pool, not on the event loop.
    """
    return _pipeline(services).groups(room_id, now)


@router.post("/model/reload", dependencies=[require("admin")])
async def reload_model(services: ServicesDep) -> dict[str, object]:
    """Swap in the store's active intent model (after `cuecard intents train`) without a restart.

    Comments already understood keep their labels; the next batch, live rooms included, uses the new model.
    """
    from assistant.intents import load_active

    pipeline = _pipeline(services)
    classifier = await run_in_threadpool(load_active, services.embedder, services.store)
    if classifier is None:
        raise NotFoundError(f"no intent model is recorded for the embedder {services.embedder.name!r}: "
                            "run `cuecard intents train FILE.tsv` first")
    previous = pipeline.classifier.version
    pipeline.set_classifier(classifier)
    return {"version": classifier.version, "previous": previous, "labels": classifier.labels}
