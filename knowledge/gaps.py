"""Knowledge gaps: the questions CueCard handed off, grouped per room by what they ask, so a host can
close a gap in one step by writing the answer.

A handed-off question joins the open gap of its room with the same key: its frame (attribute and
product) when one was recognised, else its normalised text. Each gap keeps a count, up to five
sample wordings, the products asked about, and first/last seen. Answering a gap stores the text
as an FAQ document through the knowledge base (indexed at once) and marks the gap answered;
answering it twice is a ConflictError, answering one that does not exist a NotFoundError.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text, insert, select, update

from knowledge.errors import ConflictError, InvalidInputError, NotFoundError
from knowledge.store import Store, metadata

__all__ = ["GapStore", "knowledge_gaps"]

MAX_SAMPLES = 5
MAX_ANSWER = 2000

knowledge_gaps = Table(
    "knowledge_gaps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("room_id", String(64), nullable=False, default=""),
    Column("gap_key", String(255), nullable=False),
    Column("representative", String(500), nullable=False),
    Column("count", Integer, nullable=False, default=1),
    Column("samples", Text, nullable=False, default="[]"),  # JSON list of wordings
    Column("products", Text, nullable=False, default="[]"),  # JSON list of product ids
    Column("first_ts", Float, nullable=False),
    Column("last_ts", Float, nullable=False),
    Column("status", String(16), nullable=False, default="open"),  # open | answered
    Column("doc_id", String(128), nullable=True),
    Index("ix_knowledge_gaps_room_key", "room_id", "gap_key", "status"),
)


def gap_key(normalized: str, attribute: str | None, product_id: str | None) -> str:
    """What makes two handed-off questions one gap: the frame when known, else the wording."""
    if attribute is not None:
        return f"frame:{attribute}:{product_id or ''}"[:255]
    return f"text:{normalized}"[:255]


class GapStore:
    """Knowledge gaps over the shared `Store` engine."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine
        metadata.create_all(self.engine, tables=[knowledge_gaps])
        self.version = 0  # bumped when this store answers a gap (readers rebuild what they derived)

    def record(self, room_id: str | None, question: str, key: str, product_id: str | None = None,
               ts: float | None = None) -> int:
        """Add a handed-off question to its open gap (creating one); returns the gap id."""
        ts = time.time() if ts is None else ts
        room = room_id or ""
        question = question.strip()[:500]
        with self.engine.begin() as conn:
            row = conn.execute(select(knowledge_gaps).where(
                knowledge_gaps.c.room_id == room, knowledge_gaps.c.gap_key == key,
                knowledge_gaps.c.status == "open")).mappings().first()
            if row is None:
                result = conn.execute(insert(knowledge_gaps).values(
                    room_id=room, gap_key=key, representative=question, count=1,
                    samples=json.dumps([question], ensure_ascii=False),
                    products=json.dumps([product_id] if product_id else []), first_ts=ts, last_ts=ts, status="open"))
                return int(result.inserted_primary_key[0])  # type: ignore[index]
            samples = json.loads(row["samples"])
            if question not in samples and len(samples) < MAX_SAMPLES:
                samples.append(question)
            products = json.loads(row["products"])
            if product_id and product_id not in products:
                products.append(product_id)
            conn.execute(update(knowledge_gaps).where(knowledge_gaps.c.id == row["id"]).values(
                count=row["count"] + 1, samples=json.dumps(samples, ensure_ascii=False),
                products=json.dumps(products), last_ts=max(ts, row["last_ts"])))
            return int(row["id"])

    def list(self, room_id: str | None = None, status: str | None = "open") -> list[dict[str, Any]]:
        """Gaps, most asked first (optionally one room's, one status)."""
        q = select(knowledge_gaps)
        if room_id is not None:
            q = q.where(knowledge_gaps.c.room_id == room_id)
        if status is not None:
            q = q.where(knowledge_gaps.c.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(knowledge_gaps.c.count.desc(), knowledge_gaps.c.last_ts.desc())).mappings()
            return [self._public(r) for r in rows]

    def get(self, gap_id: int) -> dict[str, Any]:
        """One gap, or NotFoundError."""
        with self.engine.connect() as conn:
            row = conn.execute(select(knowledge_gaps).where(knowledge_gaps.c.id == gap_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"knowledge gap {gap_id} does not exist")
        return self._public(row)

    def answer(self, gap_id: int, text: str, kb: Any) -> dict[str, Any]:
        """Store the written answer as an FAQ document (indexed at once) and close the gap."""
        text = (text or "").strip()
        if not text:
            raise InvalidInputError("the answer is empty")
        if len(text) > MAX_ANSWER:
            raise InvalidInputError(f"the answer is {len(text)} characters; the limit is {MAX_ANSWER}")
        gap = self.get(gap_id)
        if gap["status"] != "open":
            raise ConflictError(f"knowledge gap {gap_id} was already answered (document {gap['doc_id']})")
        doc_id = f"gap-{gap_id}"
        product = gap["products"][0] if len(gap["products"]) == 1 else None
        kb.add({"id": doc_id, "kind": "faq", "product_id": product, "title": gap["representative"], "text": text})
        with self.engine.begin() as conn:
            done = conn.execute(update(knowledge_gaps).where(
                knowledge_gaps.c.id == gap_id, knowledge_gaps.c.status == "open").values(
                status="answered", doc_id=doc_id)).rowcount
        if not done:  # answered by someone else meanwhile
            raise ConflictError(f"knowledge gap {gap_id} was already answered")
        self.version += 1
        return self.get(gap_id)

    @staticmethod
    def _public(row: Any) -> dict[str, Any]:
        return {"id": int(row["id"]), "room_id": row["room_id"] or None, "representative": row["representative"],
                "count": int(row["count"]), "samples": json.loads(row["samples"]),
                "products": json.loads(row["products"]), "first_ts": row["first_ts"], "last_ts": row["last_ts"],
                "status": row["status"], "doc_id": row["doc_id"]}
