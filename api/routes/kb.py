"""Knowledge documents (CRUD, bulk import, search), compliance checks and one-off answers.

Every write goes through `services.kb`, which updates the store and both indexes before it
returns, so a document is searchable as soon as its request is answered. Handlers are plain
`def`: FastAPI runs them in its thread pool, so encoding and searching never block the loop.
Reading, searching, checking and answering take a host or bot key; writing takes a host key.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from api.deps import ServicesDep
from api.live.auth import require
from knowledge.documents import KINDS
from knowledge.errors import ConflictError, ModelLoadError, NotFoundError
from knowledge.kb import MODES, Hit, KnowledgeBase
from knowledge.room import RoomState

router = APIRouter(tags=["knowledge"])

Kind = Literal["product_fact", "faq", "policy", "talking_point"]
assert set(Kind.__args__) == set(KINDS)  # type: ignore[attr-defined]
Mode = Literal["fused", "dense", "lexical"]
assert set(Mode.__args__) == set(MODES)  # type: ignore[attr-defined]


class DocumentCreate(BaseModel):
    """A new knowledge document."""

    id: str = Field(min_length=1, max_length=128)
    kind: Kind
    product_id: str | None = None
    title: str = Field("", max_length=512)
    text: str = Field(min_length=1, max_length=4000)
    tags: list[str] = []


class DocumentUpdate(BaseModel):
    """Fields to change on a document; those left out keep their value."""

    kind: Kind | None = None
    product_id: str | None = None
    title: str | None = Field(None, max_length=512)
    text: str | None = Field(None, min_length=1, max_length=4000)
    tags: list[str] | None = None


class DocumentPublic(BaseModel):
    """A document as the API shows it."""

    id: str
    kind: str
    product_id: str | None
    title: str
    text: str
    tags: list[str]


class BulkDocuments(BaseModel):
    """Documents to create or replace in one request (one embedding batch, one index save)."""

    documents: list[DocumentCreate] = Field(min_length=1, max_length=10_000)


class ComplianceRequest(BaseModel):
    """A text to check, with the product category when known (medical claims are a beauty/food rule)."""

    text: str = Field(max_length=20_000)
    category: str | None = None


class AnswerRequest(BaseModel):
    """A viewer's question, optionally about a product, in a room, with the classifier's intent."""

    question: str = Field(min_length=1, max_length=500)
    product_id: str | None = None
    room_id: str | None = None
    intent: str | None = None


def _kb(services: Any) -> KnowledgeBase:
    if services.kb is None:
        raise ModelLoadError("the knowledge base is not loaded")
    return services.kb


def _public(doc: dict[str, Any]) -> DocumentPublic:
    return DocumentPublic(**{k: doc[k] for k in DocumentPublic.model_fields})


@router.get("/kb/documents", response_model=list[DocumentPublic], dependencies=[require("host", "bot")])
def list_documents(services: ServicesDep, kind: Kind | None = None, product_id: str | None = None,
                   include_facts: bool = False) -> list[DocumentPublic]:
    """Documents, optionally of one kind or about one product; product facts on request."""
    return [_public(d) for d in _kb(services).list_documents(kind, product_id, include_facts)]


@router.post("/kb/documents", response_model=DocumentPublic, status_code=201, dependencies=[require("host")])
def create_document(body: DocumentCreate, services: ServicesDep) -> DocumentPublic:
    """Create a document; it is searchable when this returns (409 if the id is taken)."""
    kb = _kb(services)
    try:
        kb.get(body.id)
    except NotFoundError:
        return _public(kb.add(body.model_dump()))
    raise ConflictError(f"document {body.id!r} already exists; PATCH it or choose another id")


@router.post("/kb/documents/bulk", status_code=200, dependencies=[require("host")])
def bulk_documents(body: BulkDocuments, services: ServicesDep) -> dict[str, int]:
    """Create or replace many documents at once."""
    return {"imported": _kb(services).add_many(d.model_dump() for d in body.documents)}


@router.get("/kb/documents/{doc_id}", response_model=DocumentPublic, dependencies=[require("host", "bot")])
def get_document(doc_id: str, services: ServicesDep) -> DocumentPublic:
    """One document or product fact."""
    return _public(_kb(services).get(doc_id))


@router.patch("/kb/documents/{doc_id}", response_model=DocumentPublic, dependencies=[require("host")])
def update_document(doc_id: str, body: DocumentUpdate, services: ServicesDep) -> DocumentPublic:
    """Change a document; the index follows at once."""
    return _public(_kb(services).update(doc_id, **body.model_dump(exclude_unset=True)))


@router.delete("/kb/documents/{doc_id}", status_code=204, dependencies=[require("host")])
def delete_document(doc_id: str, services: ServicesDep) -> Response:
    """Delete a document from the store and the index."""
    _kb(services).delete(doc_id)
    return Response(status_code=204)


@router.get("/kb/search", response_model=list[Hit], dependencies=[require("host", "bot")])
def search(services: ServicesDep, q: Annotated[str, Query(min_length=1, max_length=500)],
           k: Annotated[int, Query(ge=1, le=100)] = 5, product_id: str | None = None,
           room_id: str | None = None, mode: Mode = "fused") -> list[Hit]:
    """The best documents for a question, scoped to a product or to a room's line-up."""
    lineup = RoomState.load(services.store, room_id).lineup_ids if room_id else None
    return _kb(services).search(q, k=k, product_id=product_id, lineup=lineup, mode=mode)


@router.post("/compliance/check", dependencies=[require("host", "bot")])
def compliance_check(body: ComplianceRequest, services: ServicesDep) -> dict[str, Any]:
    """Advertising-law findings in a text, and the text with each replaced by a safer wording."""
    if services.compliance is None:
        raise ModelLoadError("the compliance checker is not loaded")
    rewritten, findings = services.compliance.rewrite(body.text, body.category)
    return {"clean": not findings, "findings": [f.to_dict() for f in findings], "rewritten": rewritten}


@router.post("/answer", dependencies=[require("host", "bot")])
def answer(body: AnswerRequest, services: ServicesDep) -> dict[str, Any]:
    """An answer a bot can send and a host talking point, or a hand-off to a human."""
    if services.answerer is None:
        raise ModelLoadError("the answerer is not loaded")
    room = RoomState.load(services.store, body.room_id) if body.room_id else None
    ans = services.answerer.answer(body.question, room=room, product_id=body.product_id, intent=body.intent)
    if ans.handoff and (gaps := services.extras.get("gaps")) is not None:  # issue 11: a knowledge gap
        gaps.observe(body.room_id, body.question, body.product_id, ans)  # a plain def: in the thread pool
    return ans.to_dict()  # type: ignore[no-any-return]
